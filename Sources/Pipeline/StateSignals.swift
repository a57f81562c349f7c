import Foundation
import LookbookCore

/// What tonight's snapshot brings that the last completed run did not have: the
/// signal a preference-tuning refresh learns from.
public struct NewSignal: Sendable, Equatable {
    /// Outfits whose id is new, or whose items or likes changed.
    public var outfits: [String]
    /// Verdicts not recorded yet (by anchor, item, verdict and time).
    public var feedback: Int

    public var isEmpty: Bool { outfits.isEmpty && feedback == 0 }

    public var summary: String { "\(outfits.count) new or changed outfit(s), \(feedback) new feedback verdict(s)" }
}

extension StateStore {
    /// Compares `catalog`'s outfits and feedback with those of the last completed run.
    public func newSignal(in catalog: Catalog) throws -> NewSignal {
        var stored: [String: String] = [:]
        let st = try db.prepare("SELECT id, json FROM outfits")
        while try st.step() { stored[st.string(0)!] = st.string(1) ?? "" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var outfits: [String] = []
        for o in catalog.outfits {
            let json = String(decoding: try encoder.encode(o), as: UTF8.self)
            if stored[o.id] != json { outfits.append(o.id) }
        }
        func key(_ f: Feedback) -> String { "\(f.anchor)\u{1F}\(f.item)\u{1F}\(f.verdict.rawValue)\u{1F}\(f.at ?? "")" }
        let known = Set(try feedback().map(key))
        let fresh = Set(catalog.feedback.map(key)).subtracting(known)
        return NewSignal(outfits: outfits.sorted(), feedback: fresh.count)
    }
}
