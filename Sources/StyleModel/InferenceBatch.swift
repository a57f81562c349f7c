import COpenBLAS
import Foundation

/// The rows one `continuationLogProbs` call runs: the continuations, minus their last
/// tokens, merged into a prefix tree so that a prefix several candidates share (the same
/// first words of a caption, or a duplicated candidate) is run once.
///
/// Rows are the tree's nodes in depth-first pre-order, so a node's first child is the next
/// row. A segment is a maximal run of rows each the first child of the one before; it
/// attends to its start node's ancestors (earlier rows, root first) and causally to itself.
/// Without shared prefixes every continuation is one segment with no ancestors.
struct ContinuationBatch {
    /// The token of each row.
    private(set) var tokens: [Int32] = []
    private(set) var segments: [StyleLMInference.Segment] = []
    /// `rows[c][j]`: the row whose output predicts token j + 1 of continuation c
    /// (`count − 1` rows for a continuation of `count` tokens, none when shorter than 2).
    private(set) var rows: [[Int]]

    init(_ continuations: [[Int32]]) {
        // The tree: node 0 is the root (the prompt); nodes 1... hold one token each.
        var parent = [-1], token: [Int32] = [0]
        var children: [[Int]] = [[]]
        var childByToken: [[Int32: Int]] = [[:]]
        let paths: [[Int]] = continuations.map { c in
            var node = 0, path: [Int] = []
            for t in c.dropLast() {
                if let next = childByToken[node][t] {
                    node = next
                } else {
                    let next = parent.count
                    parent.append(node); token.append(t); children.append([]); childByToken.append([:])
                    childByToken[node][t] = next
                    children[node].append(next)
                    node = next
                }
                path.append(node)
            }
            return path
        }
        // Depth-first pre-order, children in first-seen order.
        var rowOf = [Int](repeating: -1, count: parent.count)
        var stack = children[0].reversed() as [Int]
        var order: [Int] = []
        while let node = stack.popLast() {
            rowOf[node] = order.count
            order.append(node)
            stack.append(contentsOf: children[node].reversed())
        }
        tokens = order.map { token[$0] }
        for (row, node) in order.enumerated() {
            if row > 0, parent[node] == order[row - 1] {
                segments[segments.count - 1].count += 1
            } else {
                var ancestors: [Int] = []
                var up = parent[node]
                while up != 0 { ancestors.append(rowOf[up]); up = parent[up] }
                segments.append(StyleLMInference.Segment(start: row, count: 1, ancestors: ancestors.reversed()))
            }
        }
        rows = paths.map { $0.map { rowOf[$0] } }
    }
}

extension ContinuationBatch {
    /// Consecutive row ranges that can run apart: each holds whole subtrees of the root
    /// (continuations with the same first token), so no segment attends outside its chunk.
    /// Subtrees are packed in order into chunks of at most `maxRows` rows (a larger subtree
    /// is a chunk of its own). Returns the rows and the segments of each chunk.
    func chunks(maxRows: Int) -> [(rows: Range<Int>, segments: Range<Int>)] {
        var out: [(rows: Range<Int>, segments: Range<Int>)] = []
        var rowStart = 0, segmentStart = 0
        for (i, s) in segments.enumerated() where i > 0 && s.ancestors.isEmpty {
            // Segment i starts a new subtree: close the chunk before it when it would overflow.
            if s.start + longestSubtree(from: i) - rowStart > maxRows {
                out.append((rowStart..<s.start, segmentStart..<i))
                rowStart = s.start
                segmentStart = i
            }
        }
        if !segments.isEmpty { out.append((rowStart..<tokens.count, segmentStart..<segments.count)) }
        return out
    }

    /// The row just past the subtree that segment `i` (a subtree's first) starts.
    private func longestSubtree(from i: Int) -> Int {
        var j = i + 1
        while j < segments.count, !segments[j].ancestors.isEmpty { j += 1 }
        return (j < segments.count ? segments[j].start : tokens.count) - segments[i].start
    }
}

extension StyleLMInference {
    /// How `continuationLogProbs` runs a batch. The defaults are the fastest measured on the
    /// 2-core target (`lookbook-bench stylelm-score`).
    public struct BatchOptions: Sendable, Equatable {
        /// Threads that each take whole chunks, running their sgemm calls single-threaded
        /// (OpenBLAS is set to one thread while they run). 1 runs the chunks one after another
        /// with OpenBLAS's own threads.
        public var threads: Int
        /// Most rows (distinct continuation prefixes) per chunk; a chunk goes through every
        /// layer and the vocabulary before its thread takes the next. Bigger chunks amortise
        /// OpenBLAS's packing of the weights over more rows; with two threads a batch is cut
        /// into at least four chunks (of at least 16 rows) so neither thread waits long.
        public var chunkRows: Int
        /// Rows × vocabulary columns per block of the vocabulary projection, whose logits live
        /// only until the block's log-sum-exp is taken: more rows amortise OpenBLAS's packing of
        /// the embedding table, fewer columns keep the block's logits in cache.
        public var vocabularyRows: Int, vocabularyColumns: Int

        public init(threads: Int = 2, chunkRows: Int = 512, vocabularyRows: Int = 512, vocabularyColumns: Int = 512) {
            self.threads = max(1, threads)
            self.chunkRows = max(1, chunkRows)
            self.vocabularyRows = max(1, vocabularyRows)
            self.vocabularyColumns = max(1, vocabularyColumns)
        }
    }

    /// Where the time of `continuationLogProbs` goes, summed over its threads (thread-seconds).
    public final class BatchProfile: @unchecked Sendable {
        public enum Stage: Int, CaseIterable, Sendable {
            /// Prefix tree, chunking, result arrays.
            case planning
            /// QKV, output, gate/up and down projections (sgemm).
            case projections
            /// RoPE, scores against the cached prompt and the own prefix, softmax, weighted values.
            case attention
            /// Embedding lookup, RMSNorm, SwiGLU.
            case elementwise
            /// The tied output projection onto the vocabulary (sgemm).
            case vocabulary
            /// Log-sum-exp over the vocabulary and picking the targets.
            case logSumExp
            /// Anything else (bookkeeping between stages).
            case other

            public var name: String {
                switch self {
                case .planning: "planning"
                case .projections: "layer projections (sgemm)"
                case .attention: "attention (RoPE, scores, softmax, values)"
                case .elementwise: "embedding, RMSNorm, SwiGLU"
                case .vocabulary: "vocabulary projection (sgemm)"
                case .logSumExp: "log-sum-exp, target pick"
                case .other: "other"
                }
            }
        }

        private let lock = NSLock()
        private var totals = [Double](repeating: 0, count: Stage.allCases.count)

        public init() {}

        public var seconds: [Stage: Double] {
            lock.withLock { Dictionary(uniqueKeysWithValues: Stage.allCases.map { ($0, totals[$0.rawValue]) }) }
        }

        public func reset() { lock.withLock { totals = totals.map { _ in 0 } } }

        func add(_ clock: StageClock) {
            lock.withLock { for i in totals.indices { totals[i] += clock.seconds[i] } }
        }
    }
}

/// Per-thread stage timer: `lap(stage)` charges the time since the last lap to `stage`.
struct StageClock {
    var seconds = [Double](repeating: 0, count: StyleLMInference.BatchProfile.Stage.allCases.count)
    private var last = DispatchTime.now().uptimeNanoseconds

    mutating func lap(_ stage: StyleLMInference.BatchProfile.Stage) {
        let now = DispatchTime.now().uptimeNanoseconds
        seconds[stage.rawValue] += Double(now &- last) * 1e-9
        last = now
    }

    /// Starts the next lap now, charging the time since the last one to nothing.
    mutating func skip() { last = DispatchTime.now().uptimeNanoseconds }
}

/// One thread's scratch for the decoder and the vocabulary projection: grown as needed and
/// reused, so scoring allocates nothing per chunk or layer.
final class InferenceWorkspace {
    final class Buffer {
        private(set) var pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
        private var capacity = 1

        func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
            if count > capacity {
                pointer.deallocate()
                capacity = count
                pointer = .allocate(capacity: count)
            }
            return pointer
        }

        deinit { pointer.deallocate() }
    }

    let x = Buffer(), xn = Buffer(), qkv = Buffer(), attn = Buffer(), gateUp = Buffer()
    let scoresPast = Buffer(), scoresOwn = Buffer(), scoresAncestors = Buffer(), gathered = Buffer()
    let logits = Buffer(), logSumExps = Buffer()
    var clock: StageClock?

    init(profiling: Bool = false) { clock = profiling ? StageClock() : nil }

    @inline(__always) func lap(_ stage: StyleLMInference.BatchProfile.Stage) {
        if clock != nil { clock!.lap(stage) }
    }
}

/// While any scoring call runs its chunks on its own threads, OpenBLAS runs each sgemm on
/// the calling thread (two threads each asking OpenBLAS's thread pool would queue behind
/// one another). The first caller in sets one thread; the last one out restores the count.
///
/// The count is process-wide, so a computation whose bits must not depend on what else
/// runs (PPMI-SVD's products: its version promises its vectors) holds it too; so do the
/// tests that compare two trainings bit for bit in one process. StyleLM training keeps
/// both threads: with a scoring call running beside it in the same process its bits can
/// differ, as they do between machines with other thread counts (README, StyleLM).
public enum BLASThreads {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var holders = 0
    nonisolated(unsafe) private static var saved: Int32 = 1

    public static func single<T>(_ body: () throws -> T) rethrows -> T {
        lock.withLock {
            if holders == 0 {
                saved = openblas_get_num_threads()
                openblas_set_num_threads(1)
            }
            holders += 1
        }
        defer {
            lock.withLock {
                holders -= 1
                if holders == 0 { openblas_set_num_threads(saved) }
            }
        }
        return try body()
    }
}

/// Hands out 0, 1, 2, ... to whichever thread asks first.
private final class TicketCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    func take(below limit: Int) -> Int? {
        lock.withLock {
            guard next < limit else { return nil }
            defer { next += 1 }
            return next
        }
    }
}

extension StyleLMInference {
    /// `continuationLogProbs(_:_:)` with explicit threading and blocking, and optionally a
    /// profile of where the time goes. Results do not depend on the options beyond
    /// floating-point summation order (~1e-6).
    public func continuationLogProbs(_ state: PromptState, _ continuations: [[Int32]], options: BatchOptions,
                                     profile: BatchProfile? = nil) -> [[Float]] {
        var planClock = profile.map { _ in StageClock() }
        let room = config.maxPositionEmbeddings - state.length
        let scored = continuations.map { Array($0.prefix(room)) }
        for c in scored { checkIDs(c) }
        // Every log-probability in one flat array: continuation c's at offsets[c]...
        var offsets: [Int] = [], total = 0
        offsets.reserveCapacity(scored.count)
        for c in scored { offsets.append(total); total += c.count }
        var flat = [Float](repeating: 0, count: total)
        for (ci, c) in scored.enumerated() where !c.isEmpty { flat[offsets[ci]] = state.lastLogProbs[Int(c[0])] }
        let batch = ContinuationBatch(scored)
        if !batch.tokens.isEmpty {
            // Row r predicts token j + 1 of continuation c when r = batch.rows[c][j]; one row
            // may serve several continuations (a shared prefix), each with its own target.
            var picks: [Pick] = []
            picks.reserveCapacity(total)
            for (ci, c) in scored.enumerated() {
                for (j, row) in batch.rows[ci].enumerated() { picks.append(Pick(row: row, target: c[j + 1], slot: offsets[ci] + j + 1)) }
            }
            picks.sort { $0.row < $1.row }
            let workers = options.threads >= 2 ? 2 : 1
            // With two threads, at least four chunks so that neither waits long for the other.
            let chunkRows = workers > 1 ? min(options.chunkRows, max(16, (batch.tokens.count + 3) / 4)) : options.chunkRows
            let chunks = batch.chunks(maxRows: chunkRows)
            var pickStarts: [Int] = [], next = 0
            for chunk in chunks {
                pickStarts.append(next)
                while next < picks.count, picks[next].row < chunk.rows.upperBound { next += 1 }
            }
            pickStarts.append(picks.count)
            planClock?.lap(.planning)
            let past = Cache(length: state.length, keys: state.keys, values: state.values)
            flat.withUnsafeMutableBufferPointer { out in
                let out = UncheckedSendable(value: out.baseAddress!)
                picks.withUnsafeBufferPointer { picks in
                    func run(_ i: Int, _ ws: InferenceWorkspace, parallel: Bool) {
                        scoreChunk(batch, chunks[i], past: past, picks: UnsafeBufferPointer(rebasing: picks[pickStarts[i]..<pickStarts[i + 1]]),
                                   into: out.value, workspace: ws, vocabulary: (options.vocabularyRows, options.vocabularyColumns), parallel: parallel)
                    }
                    if workers > 1, chunks.count > 1 {
                        let tickets = TicketCounter()
                        BLASThreads.single {
                            withoutActuallyEscaping(run) { run in
                                let work = UncheckedSendable(value: run)
                                DispatchQueue.concurrentPerform(iterations: workers) { _ in
                                    let ws = InferenceWorkspace(profiling: profile != nil)
                                    while let i = tickets.take(below: chunks.count) { work.value(i, ws, false) }
                                    if let clock = ws.clock { profile?.add(clock) }
                                }
                            }
                        }
                    } else {
                        let ws = InferenceWorkspace(profiling: profile != nil)
                        for i in chunks.indices { run(i, ws, parallel: true) }
                        if let clock = ws.clock { profile?.add(clock) }
                    }
                }
            }
            planClock?.skip()   // the chunk threads charged their own time
        }
        let results = scored.indices.map { ci in Array(flat[offsets[ci]..<offsets[ci] + scored[ci].count]) }
        planClock?.lap(.planning)
        if let planClock { profile?.add(planClock) }
        return results
    }

    /// One target to read off a row's log-softmax, and where to write it.
    struct Pick {
        var row: Int
        var target: Int32
        var slot: Int
    }

    /// Runs one chunk through the decoder and the vocabulary projection and writes
    /// log softmax(row)[target] of each pick (sorted by row, all in the chunk) to out[slot].
    private func scoreChunk(_ batch: ContinuationBatch, _ chunk: (rows: Range<Int>, segments: Range<Int>), past: Cache,
                            picks: UnsafeBufferPointer<Pick>, into out: UnsafeMutablePointer<Float>,
                            workspace ws: InferenceWorkspace, vocabulary: (rows: Int, columns: Int), parallel: Bool) {
        let h = config.hiddenSize, v = config.vocabSize
        let first = chunk.rows.lowerBound, rows = chunk.rows.count
        let segments = batch.segments[chunk.segments].map { s in
            Segment(start: s.start - first, count: s.count, ancestors: s.ancestors.map { $0 - first })
        }
        let x = ws.x.reserve(rows * h)
        embedding.withUnsafeBufferPointer { e in
            for r in 0..<rows {
                (x + r * h).update(from: e.baseAddress! + Int(batch.tokens[first + r]) * h, count: h)
            }
        }
        ws.lap(.elementwise)
        _ = decode(x, rows: rows, segments: segments, past: past, keepCache: false, workspace: ws, parallel: parallel)
        rmsNorm(x, x, rows: rows, weight: finalNorm)
        ws.lap(.elementwise)
        // Blocks of rows × vocabulary columns, so that a block's logits stay in cache from
        // the sgemm that writes them to the log-sum-exp that reads them; each row keeps a
        // running maximum and sum across its column blocks.
        let block = min(vocabulary.rows, rows), width = min(vocabulary.columns, v)
        let logits = ws.logits.reserve(block * width)
        let runMax = ws.logSumExps.reserve(2 * block), runSum = runMax + block
        var next = 0
        embedding.withUnsafeBufferPointer { e in
            var start = 0
            while start < rows {
                let n = min(block, rows - start)
                let firstPick = next
                while next < picks.count, picks[next].row < first + start + n { next += 1 }
                for r in 0..<n { runMax[r] = -.infinity; runSum[r] = 0 }
                var column = 0
                while column < v {
                    let w = min(width, v - column)
                    sgemm(n, w, h, x + start * h, h, e.baseAddress! + column * h, h, transposeB: true, logits, w)
                    ws.lap(.vocabulary)
                    concurrentPerform(2, when: parallel && n >= 16) { half in
                        for r in (half * n / 2)..<((half + 1) * n / 2) {
                            let row = logits + r * w
                            let m = InferenceKernels.maximum(row, w)
                            let sum = InferenceKernels.sumExpBelow(row, w, shift: m)
                            let top = max(runMax[r], m)
                            runSum[r] = runSum[r] * expf(runMax[r] - top) + sum * expf(m - top)
                            runMax[r] = top
                        }
                    }
                    for i in firstPick..<next {
                        let t = Int(picks[i].target)
                        if t >= column, t < column + w { out[picks[i].slot] = logits[(picks[i].row - first - start) * w + t - column] }
                    }
                    column += w
                    ws.lap(.logSumExp)
                }
                for i in firstPick..<next {
                    let r = picks[i].row - first - start
                    out[picks[i].slot] -= runMax[r] + logf(runSum[r])
                }
                ws.lap(.logSumExp)
                start += n
            }
        }
    }
}
