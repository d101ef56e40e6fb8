"""The analysis steps, in the order :func:`infoprint.tasks.analyze.analyze` runs them.

Each is ``step(context) -> StepResult`` (:mod:`infoprint.pipeline.run`;
``docs/architecture.md`` §10): it calls the domain functions of its module, saves its
figures with a caption and returns its tables; it never formats a table itself. Only
``structure`` is core; any other step that fails is recorded and the analysis goes on.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from infoprint import tracking
from infoprint.analysis.baselines import (
    agreement_table,
    compare_baselines,
    udr_table,
    write_baselines,
)
from infoprint.analysis.fusion import (
    continuity_table,
    fuse_ensemble,
    fusion_summary,
    fusion_table,
    write_fusion,
)
from infoprint.analysis.hotspot_fusion import (
    central_members,
    fuse_hotspots,
    hotspot_fusion_table,
)
from infoprint.analysis.hotspot_traversals import (
    NoDecoder,
    NotAnImage,
    hotspot_traversals,
    skip_notes,
)
from infoprint.analysis.measures import channel_measure
from infoprint.analysis.outputs import write_table
from infoprint.analysis.results import hotspot_table, write_results
from infoprint.analysis.run_metrics import run_metrics_table, spearman_correlations
from infoprint.analysis.training import (
    TRAINING_CAPTIONS,
    formation_table,
    training_course,
    training_table,
)
from infoprint.analysis.whole_space import compare_whole_spaces, write_whole_space
from infoprint.pipeline.report import write_report
from infoprint.pipeline.run import (
    AnalysisContext,
    Step,
    StepFailure,
    StepResult,
    start_analysis_run,
)
from infoprint.pipeline.summary import headline_numbers
from infoprint.plots.baselines import baselines_figure
from infoprint.plots.fusion import continuity_figure, fused_space_figure
from infoprint.plots.hotspot_traversals import traversal_figure, traversal_grid_figure
from infoprint.plots.run_metrics import metrics_vs_structure_figure
from infoprint.plots.structure import structure_figure
from infoprint.plots.training import agreement_figure, information_figure
from infoprint.plots.training import structure_figure as training_structure_figure
from infoprint.plots.whole_space import whole_space_figure


def structure(context: AnalysisContext) -> StepResult:
    """results.npz, hotspots.csv and one structure figure per clustering (core), captioned by
    its channel measure (:mod:`infoprint.analysis.measures`)."""
    result = StepResult()
    result.files["results"] = write_results(context.out, context.structure, context.clusterings)
    table = hotspot_table(context.hotspots)
    result.files["hotspots"] = write_table(table, context.out)
    result.tables.append(table)
    for c in context.clusterings:
        fig = structure_figure(context.structure, c)
        name = f"structure_{c.measure}.png"
        caption = channel_measure(c.measure).caption
        result.figures.append(context.figure(fig, name, caption, f"structure/{c.measure}"))
    return result


def run_metrics(context: AnalysisContext) -> StepResult:
    """Per-run metrics (run.json) against each run's structure, with Spearman ρ."""
    joined = run_metrics_table(context.fingerprints, context.structure, context.clusterings)
    correlations = spearman_correlations(joined)
    result = StepResult(section={"n_runs": len(joined.rows), "spearman": correlations})
    if not joined.rows:
        return result
    table = joined.table()
    result.files["run_metrics"] = write_table(table, context.out)
    result.tables.append(table)
    caption = (
        "Each run's headline disentanglement scores (rows) against its channel structure "
        "(columns): one point per run; the title gives Spearman's rank correlation ρ over "
        "the runs (n = runs with both values). ρ near ±1: the metric ranks runs like that "
        "structure quantity does."
    )
    fig = metrics_vs_structure_figure(joined, correlations)
    result.figures.append(context.figure(fig, "metrics_vs_structure.png", caption))
    return result


_WHOLE_CAPTION = (
    "Whole latent spaces of the runs compared, run by run: NMI (left, 1 = the same "
    "information) and VI (right, bits, 0 = the same), Monte Carlo estimates; small "
    "ensembles show each value ± its standard error."
)


def whole_space(context: AnalysisContext) -> StepResult:
    """Run × run NMI and VI of whole latent spaces, Monte Carlo (paper Sec. 4.3)."""
    options = context.options
    assert options.whole_space is not None
    compared = compare_whole_spaces(
        context.fingerprints,
        n_samples=options.whole_space.n_samples,
        seed=options.whole_space.seed,
        device=options.device,
        memory_budget=options.memory_budget,
    )
    figure = context.figure(whole_space_figure(compared), "whole_space.png", _WHOLE_CAPTION)
    return StepResult(
        files={"whole_space": write_whole_space(context.out, compared)},
        figures=[figure],
        section={
            "sample": compared.sample,
            "n_points": compared.n_points,
            "n_samples": compared.n_samples,
            "information_bits": compared.information,
            "information_se": compared.information_se,
        },
    )


_TRAVERSAL_CAPTION = (
    "What hotspot {key} encodes: its representative channel (the member closest to the "
    "hotspot's medoid whose run can be decoded) decoded by its run. Left column: the probe "
    "image reconstructed; then the channel set to each value shown below (2nd to 98th "
    "percentile of its posterior means), the other channels fixed. Rows: different probe "
    "images."
)


def traversals(context: AnalysisContext) -> StepResult:
    """Decode each hotspot's representative channel (the runs' last.ckpt, or the module of
    ``traversals.loader``); hotspots whose runs have no decoder are skipped with a note."""
    options = context.options.traversals
    assert options is not None
    clustering = context.clustering(options.measure)
    if clustering is None:
        return StepResult(section={"made": [], "skipped": [], "missing": [], "notes": []})
    done, missing = hotspot_traversals(
        context.structure,
        clustering,
        context.hotspots,
        context.fingerprints,
        options.n_bases,
        options.steps,
        loader=options.load_function() if options.loader else None,
        decoder=options.decoder,
    )
    result = StepResult()
    for t in done:
        key = f"{t.hotspot.measure}_{t.hotspot.hotspot}"
        caption = _TRAVERSAL_CAPTION.format(key=f"{t.hotspot.measure}/{t.hotspot.hotspot}")
        fig = traversal_figure(t)
        result.figures.append(
            context.figure(fig, f"traversal_{key}.png", caption, f"traversals/{key}")
        )
    if done:
        caption = (
            "Every hotspot's representative channel traversed from one probe image, one row "
            "per hotspot, titled with its size and best factor: what each piece of "
            "repeatedly learned information does to the image."
        )
        fig = traversal_grid_figure(done)
        result.figures.append(context.figure(fig, "traversals.png", caption, "traversals/all"))
    skipped = [(h, err) for h, err in missing if isinstance(err, NoDecoder)]
    missing = [(h, err) for h, err in missing if not isinstance(err, NoDecoder)]
    for hotspot, err in missing:
        if not isinstance(err, NotAnImage):  # data that are not images: nothing to draw
            item = f"hotspot {hotspot.measure}/{hotspot.hotspot}"
            result.failures.append(StepFailure.of("traversals", err, item))
    n_hotspots = sum(h.measure == clustering.measure for h in context.hotspots)
    result.notes = skip_notes(skipped, n_hotspots, options.decoder)
    result.section = {
        "made": [f"{t.hotspot.measure}/{t.hotspot.hotspot}" for t in done],
        "skipped": [f"hotspot {h.measure}/{h.hotspot}: {err}" for h, err in skipped],
        "missing": [f"hotspot {h.measure}/{h.hotspot}: {err}" for h, err in missing],
        "notes": result.notes,
    }
    return result


def hotspot_fusion(context: AnalysisContext) -> StepResult:
    """Each hotspot's channels fused into one channel (hotspot_fusion.csv)."""
    options = context.options.hotspot_fusion
    assert options is not None
    if not context.hotspots:
        return StepResult()
    settings = asdict(options)
    most = settings.pop("max_members")
    clustering = context.clustering(options.measure)
    found = [
        central_members(context.structure, clustering, h, most)
        for h in context.hotspots
        if clustering is not None and h.measure == options.measure
    ]
    fused = fuse_hotspots(
        context.fingerprints,
        found,
        cache=context.inputs.cache,
        **settings,
        **context.options.compute(),
    )
    table = hotspot_fusion_table(fused, options.objective)
    return StepResult(
        files={"hotspot_fusion": write_table(table, context.out)},
        tables=[table],
        section=table.records(),
    )


def fusion(context: AnalysisContext) -> StepResult:
    """Fusion of random sub-ensembles of weak learners (paper Sec. 4.4; fusion.npz)."""
    options = context.options
    assert options.fusion is not None
    fused = fuse_ensemble(
        context.fingerprints,
        options.fusion,
        threshold=options.information_threshold,
        **options.compute(),
    )
    space_caption = (
        "The fused embedding of the whole sweep, one panel per objective: each probe point's "
        "fused posterior (mean, and a ±1σ ellipse in 2-D) coloured by its first ground-truth "
        "factor (on the ring, its angle). A continuous embedding orders the colours smoothly."
    )
    continuity_caption = (
        "Continuity of fused embeddings against the number of runs fused: median over "
        "repeats (line), interquartile range (band) and every repeat (dots), per objective; "
        "lower is more continuous, 1 is ideal; dotted: a single channel on its own."
    )
    return StepResult(
        files={"fusion": write_fusion(context.out, fused)},
        figures=[
            context.figure(
                fused_space_figure(fused), "fusion_space.png", space_caption, "fusion/space"
            ),
            context.figure(
                continuity_figure(fused),
                "fusion_continuity.png",
                continuity_caption,
                "fusion/continuity",
            ),
        ],
        tables=[continuity_table(fused), fusion_table(fused)],
        section=fusion_summary(fused),
    )


def wandb(context: AnalysisContext) -> StepResult:
    """A W&B run of job type ``analysis`` with every figure, table and headline number."""
    run, section = start_analysis_run(context, context.fingerprints, "analysis")
    if run is None:
        return StepResult()
    exit_code = 1
    try:
        figures = {f.key: f.path for f in context.figures()}
        tables = {t.name: (list(t.columns), [list(r) for r in t.rows]) for t in context.tables()}
        tracking.log_analysis(figures, tables, headline_numbers(context))
        exit_code = 0
    finally:
        tracking.finish_active_run(exit_code)
    return StepResult(section=section)


def baselines(context: AnalysisContext) -> StepResult:
    """Other similarity measures between runs, against whole-space NMI / VI (Sec. 4.1)."""
    options = context.options.baselines
    result = compare_baselines(
        context.fingerprints,
        options.measures,
        options.n_samples,
        options.seed,
        context.options.device,
    )
    tables = [agreement_table(result)] + ([udr_table(result)] if result.udr_scores else [])
    files = {t.name: write_table(t, context.out) for t in tables}
    files["baselines_matrices"] = write_baselines(context.out, result)
    caption = (
        "Each panel: one measure for every pair of runs (whole latent spaces on the probe set) "
        "against the pair's whole-space NMI; the title gives Spearman's ρ over the pairs. A "
        "measure that tracks the information content lies on a rising curve."
    )
    figure = context.figure(baselines_figure(result), "baselines.png", caption, "baselines")
    upper = np.triu_indices(len(result.run_ids), 1)
    section = {
        "mean": {n: float(np.nanmean(m[upper])) for n, m in result.measures.items()},
        "rho_with_nmi": result.agreement("nmi"),
        "rho_with_neg_vi": result.agreement("vi"),
    }
    return StepResult(files=files, figures=[figure], tables=tables, section=section)


def training(context: AnalysisContext) -> StepResult:
    """The course of training from the runs' snapshots (nothing without snapshots)."""
    options = context.options
    course = training_course(
        context.fingerprints,
        context.hotspots,
        threshold=options.information_threshold,
        min_samples=options.clustering.min_samples,
        xi=options.clustering.xi,
        agreement=options.training.agreement,
        n_samples=options.training.n_samples,
        seed=options.training.seed,
        device=options.device,
    )
    if course is None:
        return StepResult(section={"runs_with_snapshots": 0})
    tables = [training_table(course), formation_table(course)]
    files = {t.name: write_table(t, context.out) for t in tables}
    figures = [
        context.figure(
            information_figure(course),
            "training_information.png",
            TRAINING_CAPTIONS["information"],
            "training/information",
        ),
        context.figure(
            agreement_figure(course),
            "training_agreement.png",
            TRAINING_CAPTIONS["agreement"],
            "training/agreement",
        ),
        context.figure(
            training_structure_figure(course),
            "training_structure.png",
            TRAINING_CAPTIONS["structure"],
            "training/structure",
        ),
    ]
    section = {
        "runs_with_snapshots": len(course.run_ids),
        "steps": course.steps.tolist(),
        "least_agreement_step": course.least_agreement_step,
        "formation": [
            {"hotspot": h, "first_step": s, "final_mean_nmi": n} for h, s, n in course.formation
        ],
        "notes": course.notes,
    }
    return StepResult(files=files, figures=figures, tables=tables, section=section)


def report(context: AnalysisContext) -> StepResult:
    """report.html: every table, figure and failure, readable without W&B or a server."""
    return StepResult(files={"report": write_report(context.out, context)})


STEPS = (
    Step("structure", "structure: results, hotspots, figures", structure, core=True),
    Step("run_metrics", "run metrics against structure", run_metrics),
    Step("whole_space", "whole-space comparison", whole_space, lambda o: o.whole_space is not None),
    Step("baselines", "other similarity measures", baselines, lambda o: o.baselines is not None),
    Step("training", "course of training", training, lambda o: o.training is not None),
    Step("traversals", "hotspot traversals", traversals, lambda o: o.traversals is not None),
    Step(
        "hotspot_fusion", "hotspot fusion", hotspot_fusion, lambda o: o.hotspot_fusion is not None
    ),
    Step("fusion", "fusion of sub-ensembles", fusion, lambda o: o.fusion is not None),
    Step("wandb", "W&B analysis run", wandb, lambda o: o.logger.mode != "disabled"),
    Step("report", "report.html", report),
)
"""Every step, in order (docs/architecture.md §10)."""
