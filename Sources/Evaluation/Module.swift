// Module Evaluation: the yardstick every model change is measured with.
//
// Data flow (each step a value-in, value-out function; `EvaluationCommands` adds files):
//
//   Polyvore JSON ──PolyvoreImporter──▶ Catalog ──QuestionMaker(holdout, seed, negative pool)──▶
//       train Catalog (train outfits only)          ──▶ a model (any `Scorer`)
//       fitb / compat / retrieval questions + keys  ──▶ Evaluator ──▶ predictions
//                                                       + keys ──▶ metrics with bootstrap CIs
//   EvalResult… ──EvalReport──▶ report.md + report.svg + report.json
//
// Rules that span files:
// - A model sees product content only (`ContentView`): ids, URLs and image paths are
//   blanked. `IdBlindnessTests` renames every id and shuffles every row and demands
//   identical metrics.
// - Ties share credit: FITB (1/k for a k-way tie at the top), AUC (Mann–Whitney, ties ½),
//   retrieval (when a prediction carries `scores`, an answer tied with others gets the
//   mean credit of the tied positions).
// - Randomness is `SplitMix64` with named sub-streams of one seed, so questions,
//   negatives and bootstrap resamples are the same on every machine.
// - A bad line is a `Diagnostic` (file, line, reason) and the question is skipped and
//   counted; only unreadable files throw.
