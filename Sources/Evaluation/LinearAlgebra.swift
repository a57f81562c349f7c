import Recommender

// The linear algebra lives in `Recommender` (the PPMI-SVD model trains with it);
// these names keep Evaluation's callers and tests reading as before.

/// A dense row-major Float matrix (`Recommender.Matrix`).
public typealias Matrix = Recommender.Matrix
/// Randomized truncated SVD of a dense or sparse matrix (`Recommender.TruncatedSVD`).
public typealias TruncatedSVD = Recommender.TruncatedSVD

/// Jacobi eigen-decomposition of a small symmetric matrix (`Recommender.symmetricEigen`).
public func symmetricEigen(_ a: [Double], n: Int, maxSweeps: Int = 60) -> (values: [Double], vectors: [Double]) {
    Recommender.symmetricEigen(a, n: n, maxSweeps: maxSweeps)
}
