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
