"""The analysis's step pipeline, above the results and the figures (``docs/architecture.md``
§2, §10): the pipeline (:mod:`~infoprint.pipeline.run`), its steps
(:mod:`~infoprint.pipeline.steps`), one ensemble's analysis
(:mod:`~infoprint.pipeline.ensemble`), the study's tables, the summary, the HTML report
and the terminal display. Import from the submodules.
"""
