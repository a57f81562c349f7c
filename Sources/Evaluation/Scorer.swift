import LookbookCore

/// A model under evaluation: scores candidates for a context, and whole outfits.
///
/// The harness hands a scorer only the *content* of products (`ContentView`): ids,
/// image paths and URLs are blanked, so a model cannot recognise an item by its id
/// (Polyvore ids `SETID_INDEX` would give the answer away: the blank shares the
/// context's set id). `EvaluationTests` proves it by renaming every id and shuffling
/// rows, which must leave every metric unchanged.
///
/// `encode` runs once per product and question run; `scores` and `compatibility` then
/// work on encoded items, so a model can cache what it derives from content.
public protocol Scorer: Sendable {
    associatedtype Item: Sendable
    /// The variant's name in reports, e.g. `ppmi-svd(rank=96)`.
    var name: String { get }
    /// Derives what the model needs from a product's content.
    func encode(_ content: Product) -> Item
    /// One score per candidate, higher is better.
    func scores(context: [Item], candidates: [Item]) -> [Double]
    /// How well the items go together as one outfit, higher is better.
    func compatibility(_ items: [Item]) -> Double
}

/// What a model may see of a product.
public enum ContentView {
    /// The product with everything that identifies it rather than describes it removed:
    /// id, URL, image paths, update time. A caption (from `lookbook caption`) joins the
    /// content as attribute `caption`.
    public static func of(_ product: Product, caption: String? = nil) -> Product {
        var p = product
        p.id = ""
        p.url = nil
        p.images = []
        p.updatedAt = nil
        if let caption { p.attributes["caption"] = caption }
        return p
    }

    /// A key that orders products by content alone (ties between products of equal
    /// content are broken by the caller, and only such ties).
    static func sortKey(_ p: Product) -> String {
        p.title + "\u{1}" + p.category + "\u{1}" + (p.description ?? "") + "\u{1}" + (p.brand ?? "")
            + "\u{1}" + (p.color ?? "") + "\u{1}" + (p.attributes["caption"] ?? "")
    }
}
