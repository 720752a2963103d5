"""``aekit export MODEL -o model.onnx``: the model's whole inference as one ONNX graph, run in
onnxruntime on check rows and compared with the model before the file is written."""

from __future__ import annotations

from .commands import _schema, load_model
from .paths import check_output


def export_command(args, progress: bool) -> str:
    from ..export import export_onnx

    check_output(args.output, [args.model], suffixes={".onnx"}, example="model.onnx")
    model = load_model(args.model)
    schema = _schema(model)
    X = None
    if args.check_data is not None:
        from .commands import _inputs_of
        from .files import read_data

        data = read_data(args.check_data, schema=schema)
        X = _inputs_of(model, data)
        X = X.to_numpy() if hasattr(X, "to_numpy") else X
        X = X[: args.check_rows]
    result = export_onnx(model, args.output, X=X, feature_names=None if schema is None
                         else schema.features)
    where = args.check_data or "rows drawn around the training data's scale"
    worst = max(result.max_difference.values(), default=0.0)
    columns = "" if schema is None else (
        f"\nInput 'input': float32 rows of {len(schema.features)} columns, in this order: "
        f"{', '.join(schema.features[:8])}"
        f"{f' (and {len(schema.features) - 8} more)' if len(schema.features) > 8 else ''}.")
    return (f"Exported {type(model).__name__} to {args.output} (outputs "
            f"{', '.join(result.outputs)}).{columns}\nChecked in onnxruntime on "
            f"{result.checked_rows} rows ({where}): largest difference {worst:.2g} of each "
            "output's largest value; flags equal the model's.")
