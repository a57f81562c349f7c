/// A row-major Float32 buffer with an optional gradient: the values of the autodiff
/// in `Tape`.
///
/// A leaf (a weight or an adapter) carries a gradient only while `requiresGrad` is set;
/// `Tape.backward` adds into it (+=), so call `zeroGrad()` between steps. A tensor an op
/// returns gets its gradient from the tape during `backward` when any input is trainable.
public final class Tensor {
    public let shape: [Int]
    /// Row-major, `shape.reduce(1, *)` values.
    public var value: [Float]
    /// Same count as `value` while the tensor is trainable (zero-filled), else empty.
    public var grad: [Float]
    /// Setting it allocates a zero gradient; clearing it drops the gradient (freezes).
    public var requiresGrad: Bool {
        didSet {
            guard requiresGrad != oldValue else { return }
            grad = requiresGrad ? [Float](repeating: 0, count: value.count) : []
        }
    }
    /// True for an op's result whose inputs (transitively) include a trainable tensor.
    var fromTrackedOp = false

    public var count: Int { value.count }

    /// `shape` must describe exactly `value.count` values (a programmer error otherwise).
    public init(shape: [Int], value: [Float], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == value.count,
                     "Tensor shape \(shape) does not hold \(value.count) values")
        self.shape = shape
        self.value = value
        self.requiresGrad = requiresGrad
        self.grad = requiresGrad ? [Float](repeating: 0, count: value.count) : []
    }

    /// A zero tensor.
    public convenience init(zeros shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, value: [Float](repeating: 0, count: shape.reduce(1, *)), requiresGrad: requiresGrad)
    }

    /// Sets the gradient to zero (keeps it empty when the tensor is frozen).
    public func zeroGrad() {
        guard !grad.isEmpty else { return }
        grad.withUnsafeMutableBufferPointer { g in
            for i in g.indices { g[i] = 0 }
        }
    }

    /// Whether the tape must compute a gradient for this tensor.
    var isTracked: Bool { requiresGrad || fromTrackedOp }

    /// The gradient, allocated (zero) on first use for an op's result.
    func withGrad<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if grad.count != value.count { grad = [Float](repeating: 0, count: value.count) }
        return try grad.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Rows of a tensor seen as a matrix whose last dimension is the row width.
    var rows: Int { shape.count <= 1 ? 1 : shape.dropLast().reduce(1, *) }
    var columns: Int { shape.last ?? 1 }
}
