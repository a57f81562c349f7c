import Testing
@testable import StyleModel

/// Gradient bookkeeping that the training loop relies on.
@Suite struct TensorTests {
    @Test func requiresGradAllocatesAndDropsTheGradient() {
        let t = Tensor(shape: [2, 3], value: [1, 2, 3, 4, 5, 6])
        #expect(t.grad.isEmpty && t.count == 6)
        t.requiresGrad = true
        #expect(t.grad == [Float](repeating: 0, count: 6))
        t.requiresGrad = false
        #expect(t.grad.isEmpty)
    }

    @Test func backwardAccumulatesUntilZeroGrad() {
        let x = Tensor(shape: [1, 2], value: [1, -2], requiresGrad: true)
        let w = Tensor(shape: [1, 2], value: [3, 5], requiresGrad: true)
        func step() {
            let tape = Tape()
            tape.backward(tape.weightedRowSums(tape.matmul(x, w), weights: [1], rows: 1))   // loss = x·w
        }
        step()
        #expect(x.grad == [3, 5] && w.grad == [1, -2])
        step()
        #expect(x.grad == [6, 10] && w.grad == [2, -4])
        x.zeroGrad()
        #expect(x.grad == [0, 0])
    }

    @Test func frozenInputsRecordNothing() {
        let x = Tensor(shape: [1, 2], value: [1, -2]), w = Tensor(shape: [1, 2], value: [3, 5])
        let tape = Tape()
        let loss = tape.weightedRowSums(tape.matmul(x, w), weights: [1], rows: 1)
        #expect(tape.backwardSteps.isEmpty)
        tape.backward(loss)
        #expect(x.grad.isEmpty && w.grad.isEmpty)
        #expect(tape.matmulFlops == 4)
    }
}
