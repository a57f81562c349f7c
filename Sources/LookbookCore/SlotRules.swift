/// Maps a product's category path (and title, when the category is vague) to its slot.
///
/// PLACEHOLDER: the full rule set is being written (CatalogIngest owner).
public struct SlotRules: Sendable, Equatable {
    /// A job-file override: a category containing `pattern` (case-insensitive) gets `slot`.
    /// The longest matching pattern wins.
    public struct Override: Sendable, Equatable {
        public var pattern: String
        public var slot: Slot
        public init(pattern: String, slot: Slot) { self.pattern = pattern; self.slot = slot }
    }

    public var overrides: [Override]
    public init(overrides: [Override] = []) { self.overrides = overrides }

    public func slot(category: String, title: String) -> Slot {
        let c = category.lowercased()
        if let o = overrides.filter({ c.contains($0.pattern.lowercased()) }).max(by: { $0.pattern.count < $1.pattern.count }) {
            return o.slot
        }
        return .other
    }
}
