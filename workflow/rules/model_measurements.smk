# Your own models, measured as `spatialpool measure` measures them (config key model_measurements;
# README, "Measuring your own models"): one job per entry, its tables and a figure in the report.


rule measure_models:
    """D_k, G_k, R_k of an entry's models on its data, one probe set for all (measurement/any_model.py)."""
    input:
        model_measurement_inputs,
    output:
        layers=report(
            f"{RESULTS}/model_measurements/{{entry}}/layers.csv",
            caption="../report/model_measurements_layers.rst",
            category="Your models",
        ),
        outputs=report(
            f"{RESULTS}/model_measurements/{{entry}}/outputs.csv",
            caption="../report/model_measurements_table.rst",
            category="Your models",
        ),
        figure=report(
            f"{RESULTS}/model_measurements/{{entry}}/sensitivities.png",
            caption="../report/model_measurements.rst",
            category="Your models",
        ),
    log:
        f"{LOGS}/measure_models/{{entry}}.log",
    benchmark:
        f"{RESULTS}/benchmarks/measure_models/{{entry}}.tsv"
    conda:
        CONDA_ENV
    threads: 1
    params:
        entry=lambda w: canonical(MODEL_MEASUREMENTS[w.entry]),
        upstream=lambda w: upstream(model_measurement_lineage(w.entry)),
    script:
        "../scripts/measure_models.py"


rule model_measurements:
    """Every entry of model_measurements."""
    input:
        model_measurement_outputs(),
