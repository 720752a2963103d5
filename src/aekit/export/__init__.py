"""Export fitted models for deployment: ``export_onnx`` (ONNX, checked in onnxruntime)."""

from .onnx import ExportResult, export_onnx

__all__ = ["ExportResult", "export_onnx"]
