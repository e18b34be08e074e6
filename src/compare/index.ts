// Side-by-side comparison of methods: runs, metrics, sheets and the HTML report.
export { compare, type CompareOptions, type CompareResult, type CompareProgress } from './compare.ts';
export { COMPARE_METHODS, framesFor, objectiveSlug, planRuns, isCompleteRun, type CompareMethod, type RunSpec } from './plan.ts';
export { metricsCsv, summarize, runMetrics, NUMERIC_METRICS, type RunMetrics, type SummaryRow } from './metrics.ts';
export { Judge, UnitProbe, targetUnit, topSoftmax, type JudgeVerdict } from './probe.ts';
export { comparisonSheet, progressionSheet, mosaic } from './figures.ts';
export { reportHtml } from './report.ts';
export type { DatasetReference, UnitReference } from './dataset.ts';
