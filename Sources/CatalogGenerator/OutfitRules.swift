import LookbookCore

/// The explicit rules every generated curated outfit follows. Recommender and
/// evaluation tests rely on them ("items of the same style co-occur").
///
/// 1. **One style.** An outfit has a style (casual, formal, sporty, boho, street) and
///    every item has that style. Items of different styles never share an outfit.
/// 2. **Colour harmony.** Neutral colour families (black, white, grey, brown) combine
///    freely; all non-neutral items of an outfit share one accent family (or there is
///    none): navy + white + red is fine, red + green is not.
/// 3. **Composition.** Exactly one of: a top and a bottom, or a dress (no top, no
///    bottom); exactly one pair of shoes; at most one outerwear, bag, hat, eyewear,
///    jewellery and accessory each. Nothing of slot `other`.
/// 4. **Gender.** Every pair of items goes together (`Gender.goes(with:)`): an outfit
///    is for women or for men; unisex and unspecified items join either.
/// 5. **Distinct.** No product twice in an outfit; no two outfits with the same items.
///
/// Popularity (`likes`) is heavy-tailed: `⌊4 / (u + 0.02)⌋` for uniform `u`, between 3
/// and 200, independent of the items. `source` is `stylist` (60 %), `editorial` (25 %)
/// or `customer` (15 %).
public enum OutfitRules {
    /// Slots of which an outfit has at most one, besides the core (top/bottom/dress, shoes).
    public static let optionalSlots: [Slot] = [.outerwear, .bag, .hat, .eyewear, .jewellery, .accessory]

    /// Whether the colour families obey rule 2.
    public static func isHarmonious(_ families: [ColorFamily]) -> Bool {
        Set(families.filter { !$0.isNeutral }).count <= 1
    }

    /// Why `items` (their truths) break the rules; empty when they don't. `style`
    /// is the outfit's declared style.
    public static func violations(items: [(id: String, truth: ProductTruth)], style: Style) -> [String] {
        var problems: [String] = []
        for item in items where item.truth.style != style {
            problems.append("\(item.id) is \(item.truth.style.rawValue), the outfit is \(style.rawValue)")
        }
        if !isHarmonious(items.map(\.truth.colorFamily)) {
            let accents = Set(items.map(\.truth.colorFamily).filter { !$0.isNeutral }).map(\.rawValue).sorted()
            problems.append("more than one accent colour family: \(accents.joined(separator: ", "))")
        }
        var count: [Slot: Int] = [:]
        for item in items { count[item.truth.slot, default: 0] += 1 }
        let top = count[.top] ?? 0, bottom = count[.bottom] ?? 0, dress = count[.dress] ?? 0
        if !((top == 1 && bottom == 1 && dress == 0) || (dress == 1 && top == 0 && bottom == 0)) {
            problems.append("needs a top and a bottom, or a dress (has \(top) top, \(bottom) bottom, \(dress) dress)")
        }
        if count[.shoes] != 1 { problems.append("needs exactly one pair of shoes (has \(count[.shoes] ?? 0))") }
        for slot in optionalSlots where (count[slot] ?? 0) > 1 {
            problems.append("more than one \(slot.rawValue)")
        }
        if count[.other] != nil { problems.append("has an item of slot other") }
        for (i, a) in items.enumerated() {
            for b in items[(i + 1)...] {
                if a.id == b.id { problems.append("\(a.id) appears twice") }
                if !Gender(retailerWord: a.truth.gender).goes(with: Gender(retailerWord: b.truth.gender)) {
                    problems.append("\(a.id) (\(a.truth.gender ?? "-")) and \(b.id) (\(b.truth.gender ?? "-")) are for different genders")
                }
            }
        }
        return problems
    }
}
