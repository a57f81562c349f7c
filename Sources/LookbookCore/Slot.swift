/// The canonical slot of a product in an outfit (catalog format v1, "Slots").
///
/// Recommendations pair a product with products of *other* slots; which pairs make
/// sense is `SlotCompatibility`'s business.
public enum Slot: String, Codable, Sendable, CaseIterable, Comparable {
    case top, bottom, dress, outerwear, shoes, bag, accessory, jewellery, hat, eyewear, other

    /// The stable order used when an outfit is written out item by item
    /// (head to toe, then carried and worn extras).
    public var order: Int {
        switch self {
        case .outerwear: 0
        case .top: 1
        case .dress: 2
        case .bottom: 3
        case .shoes: 4
        case .bag: 5
        case .hat: 6
        case .eyewear: 7
        case .jewellery: 8
        case .accessory: 9
        case .other: 10
        }
    }

    public static func < (lhs: Slot, rhs: Slot) -> Bool { lhs.order < rhs.order }
}

/// Which target slots a product of a given slot gets complementary lists for.
///
/// The defaults follow how stylists build a look: a top goes with bottoms, shoes,
/// outerwear, bags and accessories; a dress with shoes, bags, outerwear and jewellery.
/// `other` is never paired. A job file can replace any row (`[slots.compatible]`).
public struct SlotCompatibility: Sendable, Equatable {
    public private(set) var targets: [Slot: [Slot]]

    public init(targets: [Slot: [Slot]]) { self.targets = targets }

    public static let `default` = SlotCompatibility(targets: [
        .top: [.bottom, .shoes, .outerwear, .bag, .accessory, .jewellery, .hat, .eyewear],
        .bottom: [.top, .shoes, .outerwear, .bag, .accessory, .jewellery, .hat, .eyewear],
        .dress: [.shoes, .bag, .outerwear, .jewellery, .accessory, .hat, .eyewear],
        .outerwear: [.top, .bottom, .dress, .shoes, .bag, .accessory, .hat],
        .shoes: [.top, .bottom, .dress, .outerwear, .bag],
        .bag: [.top, .bottom, .dress, .outerwear, .shoes],
        .accessory: [.top, .bottom, .dress, .outerwear],
        .jewellery: [.top, .dress, .bottom],
        .hat: [.top, .bottom, .dress, .outerwear],
        .eyewear: [.top, .bottom, .dress],
        .other: [],
    ])

    public func targets(for slot: Slot) -> [Slot] { targets[slot] ?? [] }

    public func isCompatible(_ anchor: Slot, _ target: Slot) -> Bool {
        targets(for: anchor).contains(target)
    }

    public mutating func set(_ slot: Slot, targets newTargets: [Slot]) { targets[slot] = newTargets }
}
