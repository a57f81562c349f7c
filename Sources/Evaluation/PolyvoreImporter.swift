import Foundation
import LookbookCore

/// Imports the Polyvore research data (Han et al. 2017, and the MCN subset) as a
/// Lookbook catalog (format v1): `lookbook import polyvore`.
///
/// - Maryland layout: a JSON list of outfits `{set_id, name, likes, items: [{index,
///   name, categoryid, price, likes, image}]}`.
/// - MCN layout: a JSON object keyed by set id, each a map of slot name (`upper`,
///   `bottom`, `shoe`, `bag`, `accessory`) to `{index, name}`.
///
/// Every item becomes its own product `SETID_INDEX`, even when the same title appears
/// in several outfits: the data set's items are outfit-specific and questions refer to
/// them by those ids. An item without a name (about 2 % of them) takes its category
/// as title (format v1 requires one) and attribute `polyvore_untitled`. Categories are the fine names of `category_id.txt` (an MCN slot
/// becomes a readable category such as `Tops`); slots come from `category_type.tsv`'s
/// coarse types where known, else from `SlotRules`.
public struct PolyvoreImporter: Sendable {
    /// Fine category id → name (`category_id.txt`).
    public var categoryNames: [Int: String]
    /// Fine category id → coarse type (`category_type.tsv`: `outer`, `tops`, …).
    public var categoryTypes: [Int: String]
    public var slotRules: SlotRules
    /// The manifest's snapshot time; fixed by default so an import is reproducible.
    public var snapshot: String
    /// What becomes a product's `category`.
    public var categoryLevel: CategoryLevel

    /// `fine`: the 380 names of `category_id.txt` (the spec's import). `coarse`: one
    /// name per slot (`Tops`, `Shoes`, `Jewellery`, …), the semantic categories Polyvore
    /// Outfits samples negatives from, so FITB negatives, fake outfits and retrieval
    /// pools (~1,500 products instead of ~300) follow that benchmark. The fine name is
    /// kept as attribute `polyvore_category`.
    public enum CategoryLevel: String, Sendable, CaseIterable { case fine, coarse }

    public init(categoryNames: [Int: String] = [:], categoryTypes: [Int: String] = [:],
                slotRules: SlotRules = SlotRules(), snapshot: String = "2017-01-01T00:00:00Z",
                categoryLevel: CategoryLevel = .fine) {
        self.categoryNames = categoryNames; self.categoryTypes = categoryTypes
        self.slotRules = slotRules; self.snapshot = snapshot; self.categoryLevel = categoryLevel
    }

    /// The coarse category name of a slot.
    public static func coarseName(_ slot: Slot) -> String {
        switch slot {
        case .outerwear: "Outerwear"
        case .top: "Tops"
        case .dress: "Dresses"
        case .bottom: "Bottoms"
        case .shoes: "Shoes"
        case .bag: "Bags"
        case .accessory: "Accessories"
        case .jewellery: "Jewellery"
        case .hat: "Hats"
        case .eyewear: "Eyewear"
        case .other: "Other"
        }
    }

    /// Applies `categoryLevel` to an imported product.
    func leveled(_ p: Product) -> Product {
        guard categoryLevel == .coarse else { return p }
        var p = p
        p.attributes["polyvore_category"] = p.category
        if p.attributes["polyvore_untitled"] != nil { p.title = p.category }
        p.category = Self.coarseName(p.slot)
        return p
    }

    // MARK: Category files

    /// `category_id.txt`: `ID NAME` per line (the name may contain spaces).
    public static func parseCategoryNames(_ text: String, file: String = "category_id.txt") -> (names: [Int: String], diagnostics: [Diagnostic]) {
        var names: [Int: String] = [:]
        var diags: [Diagnostic] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let parts = line.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, let id = Int(parts[0]) else {
                diags.append(Diagnostic(.warning, code: EvalDiagnostic.malformedLine, file: file, line: n + 1,
                                        reason: "expected \"ID NAME\"; line ignored", content: line))
                continue
            }
            names[id] = parts[1].trimmingCharacters(in: .whitespaces)
        }
        return (names, diags)
    }

    /// `category_type.tsv`: header `categorytype_id categorytype category_id category
    /// num items`; returns fine category id → coarse type, and the fine names it carries.
    public static func parseCategoryTypes(_ text: String, file: String = "category_type.tsv")
        -> (types: [Int: String], names: [Int: String], diagnostics: [Diagnostic]) {
        var types: [Int: String] = [:], names: [Int: String] = [:]
        var diags: [Diagnostic] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: CharacterSet(charactersIn: "\r"))
            if line.trimmingCharacters(in: .whitespaces).isEmpty { continue }
            let cols = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            if n == 0, cols.first == "categorytype_id" { continue }
            guard cols.count >= 3, let id = Int(cols[2].trimmingCharacters(in: .whitespaces)) else {
                diags.append(Diagnostic(.warning, code: EvalDiagnostic.malformedLine, file: file, line: n + 1,
                                        reason: "expected tab-separated categorytype_id, categorytype, category_id, category; line ignored",
                                        content: line))
                continue
            }
            types[id] = cols[1].trimmingCharacters(in: .whitespaces)
            if cols.count >= 4 { names[id] = cols[3].trimmingCharacters(in: .whitespaces) }
        }
        return (types, names, diags)
    }

    /// The slot of a coarse type, refined by the fine name where the coarse type mixes
    /// slots (Polyvore's `headwear` holds glasses, `accessory` holds jewellery).
    public func slot(coarseType: String, fineName: String, title: String) -> Slot {
        let fine = fineName.lowercased()
        let jewellery = ["earring", "necklace", "bracelet", "bangle", "ring", "jewel", "brooch", "charm", "pendant", "cuff link"]
        switch coarseType.lowercased() {
        case "outer": return .outerwear
        case "tops": return .top
        case "full": return .dress
        case "bottoms": return .bottom
        case "shoes": return .shoes
        case "bag": return .bag
        case "jewellery", "jewelry": return .jewellery
        case "eyewear": return .eyewear
        case "headwear", "hats", "hat":
            return fine.contains("glass") || fine.contains("eyewear") ? .eyewear : .hat
        case "accessory":
            // "Accessories" says nothing: let the title decide (earrings, sunglasses…).
            if fine.hasSuffix("accessories") {
                let byTitle = slotRules.slot(category: fineName, title: title)
                if byTitle != .other { return byTitle }
            }
            if fine.contains("sunglass") || fine.contains("eyewear") || fine.contains("eyeglass") { return .eyewear }
            if jewellery.contains(where: { fine.contains($0) }) { return .jewellery }
            return .accessory
        case "legwear":
            return fine.contains("legging") ? .bottom : .accessory
        case "cosmetics", "_other", "others", "other": return .other
        default:
            return slotRules.slot(category: fineName, title: title)
        }
    }

    /// MCN slot name → (readable category, slot).
    public static let mcnSlots: [String: (category: String, slot: Slot)] = [
        "upper": ("Tops", .top), "bottom": ("Bottoms", .bottom), "shoe": ("Shoes", .shoes),
        "bag": ("Bags", .bag), "accessory": ("Accessories", .accessory),
    ]

    // MARK: Outfit files

    /// Products and outfits of one outfit file, layout detected from the top-level
    /// JSON value. A bad outfit or item is a diagnostic and is left out; a file that is
    /// not JSON or neither layout throws.
    public func read(_ data: Data, file: String) throws -> (products: [Product], outfits: [Outfit], diagnostics: [Diagnostic]) {
        let root: Any
        do { root = try JSONSerialization.jsonObject(with: data) } catch {
            throw LookbookError(.unsupportedCatalog, "\(file) is not valid JSON: give a Polyvore outfit file (Maryland or MCN layout)",
                                underlying: error.localizedDescription)
        }
        var r: (products: [Product], outfits: [Outfit], diagnostics: [Diagnostic])
        if let list = root as? [Any] {
            r = readMaryland(list, file: file)
        } else if let map = root as? [String: Any] {
            r = readMCN(map, file: file)
        } else {
            throw LookbookError(.unsupportedCatalog, "\(file): expected a JSON list of outfits (Maryland layout) or an object keyed by set id (MCN layout)")
        }
        r.products = r.products.map(leveled)
        return r
    }

    func readMaryland(_ list: [Any], file: String) -> (products: [Product], outfits: [Outfit], diagnostics: [Diagnostic]) {
        var products: [Product] = [], outfits: [Outfit] = [], diags: [Diagnostic] = []
        for (n, element) in list.enumerated() {
            let place = "outfit \(n + 1)"
            guard let o = element as? [String: Any], let setID = Self.idString(o["set_id"]), Product.isValidID(setID + "_0"),
                  let items = o["items"] as? [Any] else {
                diags.append(Diagnostic(.error, code: EvalDiagnostic.malformedLine, file: file,
                                        reason: "\(place): needs a set_id of letters and digits and an items list; outfit skipped"))
                continue
            }
            var ids: [String] = []
            for (m, itemValue) in items.enumerated() {
                guard let item = itemValue as? [String: Any], let index = Self.int(item["index"]) else {
                    diags.append(Diagnostic(.error, code: EvalDiagnostic.malformedLine, file: file,
                                            reason: "set \(setID) item \(m + 1): needs an integer index; item skipped"))
                    continue
                }
                let name = ((item["name"] as? String) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                let categoryID = Self.int(item["categoryid"])
                let category: String
                let slot: Slot
                if let categoryID {
                    category = categoryNames[categoryID] ?? "Polyvore category \(categoryID)"
                    if let coarse = categoryTypes[categoryID] {
                        slot = self.slot(coarseType: coarse, fineName: category, title: name)
                    } else {
                        slot = slotRules.slot(category: category, title: name)
                    }
                } else {
                    category = "Polyvore uncategorised"
                    slot = slotRules.slot(category: category, title: name)
                }
                // The catalog format needs a title; an untitled item is known only by
                // its category, so that becomes its title (and is marked).
                let title = name.isEmpty ? category : name
                var attributes: [String: String] = name.isEmpty ? ["polyvore_untitled": "true"] : [:]
                if let likes = Self.int(item["likes"]) { attributes["likes"] = String(likes) }
                if let categoryID { attributes["polyvore_category_id"] = String(categoryID) }
                let price = (item["price"] as? NSNumber)?.doubleValue
                let id = "\(setID)_\(index)"
                products.append(Product(id: id, title: title, category: category,
                                        price: price.flatMap { $0 >= 0 ? $0 : nil }, currency: price.flatMap { $0 >= 0 ? "USD" : nil },
                                        attributes: attributes, slot: slot))
                ids.append(id)
            }
            outfits.append(Outfit(id: setID, items: ids, name: o["name"] as? String, source: "polyvore",
                                  likes: Self.int(o["likes"])))
        }
        return (products, outfits, diags)
    }

    func readMCN(_ map: [String: Any], file: String) -> (products: [Product], outfits: [Outfit], diagnostics: [Diagnostic]) {
        var products: [Product] = [], outfits: [Outfit] = [], diags: [Diagnostic] = []
        for setID in map.keys.sorted() {
            guard Product.isValidID(setID + "_0"), let slots = map[setID] as? [String: Any] else {
                diags.append(Diagnostic(.error, code: EvalDiagnostic.malformedLine, file: file,
                                        reason: "set \(setID): needs an id of letters and digits mapped to an object of slots; outfit skipped"))
                continue
            }
            var entries: [(index: Int, product: Product)] = []
            for slotName in slots.keys.sorted() {
                guard let item = slots[slotName] as? [String: Any], let index = Self.int(item["index"]) else {
                    diags.append(Diagnostic(.error, code: EvalDiagnostic.malformedLine, file: file,
                                            reason: "set \(setID) slot \(slotName): needs {index, name}; item skipped"))
                    continue
                }
                let name = ((item["name"] as? String) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
                let known = Self.mcnSlots[slotName.lowercased()]
                let category = known?.category ?? slotName.capitalized
                let slot = known?.slot ?? slotRules.slot(category: category, title: name)
                var attributes = ["polyvore_slot": slotName]
                if name.isEmpty { attributes["polyvore_untitled"] = "true" }
                entries.append((index, Product(id: "\(setID)_\(index)", title: name.isEmpty ? category : name, category: category,
                                               attributes: attributes, slot: slot)))
            }
            entries.sort { $0.index < $1.index }
            products += entries.map(\.product)
            outfits.append(Outfit(id: setID, items: entries.map(\.product.id), source: "polyvore"))
        }
        return (products, outfits, diags)
    }

    /// Joins outfit files into one catalog; a set id or product id seen before is
    /// reported and the later one dropped.
    public func catalog(files: [(data: Data, name: String)]) throws -> (catalog: Catalog, diagnostics: [Diagnostic]) {
        var products: [Product] = [], outfits: [Outfit] = [], diags: [Diagnostic] = []
        var productIDs = Set<String>(), outfitIDs = Set<String>()
        for f in files {
            let r = try read(f.data, file: f.name)
            diags += r.diagnostics
            var kept = Set<String>()
            for p in r.products {
                if productIDs.insert(p.id).inserted { products.append(p); kept.insert(p.id) }
            }
            for o in r.outfits {
                guard outfitIDs.insert(o.id).inserted else {
                    diags.append(Diagnostic(.warning, code: EvalDiagnostic.duplicateID, file: f.name,
                                            reason: "set \(o.id) was already imported from an earlier file; this copy is skipped"))
                    continue
                }
                var o = o
                o.items = o.items.filter { kept.contains($0) }
                outfits.append(o)
            }
        }
        let manifest = CatalogManifest(retailer: "polyvore", snapshot: snapshot, locale: "en-US", currency: "USD")
        return (Catalog(manifest: manifest, products: products, outfits: outfits), diags)
    }

    /// Reads the files named on `lookbook import polyvore`. Category files are optional;
    /// names missing from `category_id.txt` are taken from `category_type.tsv`.
    public static func importFiles(outfits: [String], categories: String? = nil, categoryTypes: String? = nil,
                                   slotRules: SlotRules = SlotRules(), categoryLevel: CategoryLevel = .fine)
        throws -> (catalog: Catalog, diagnostics: [Diagnostic]) {
        var importer = PolyvoreImporter(slotRules: slotRules, categoryLevel: categoryLevel)
        var diags: [Diagnostic] = []
        if let categoryTypes {
            let r = parseCategoryTypes(try text(categoryTypes), file: (categoryTypes as NSString).lastPathComponent)
            importer.categoryTypes = r.types
            importer.categoryNames = r.names
            diags += r.diagnostics
        }
        if let categories {
            let r = parseCategoryNames(try text(categories), file: (categories as NSString).lastPathComponent)
            importer.categoryNames.merge(r.names) { _, new in new }
            diags += r.diagnostics
        }
        let files = try outfits.map { (data: try Data(contentsOfPath: $0), name: ($0 as NSString).lastPathComponent) }
        let r = try importer.catalog(files: files)
        return (r.catalog, diags + r.diagnostics)
    }

    static func text(_ path: String) throws -> String {
        String(decoding: try Data(contentsOfPath: path), as: UTF8.self)
    }

    static func idString(_ v: Any?) -> String? {
        if let s = v as? String { return s.isEmpty ? nil : s }
        if let n = v as? NSNumber { return n.stringValue }
        return nil
    }

    static func int(_ v: Any?) -> Int? {
        if let n = v as? NSNumber { return n.intValue }
        if let s = v as? String { return Int(s) }
        return nil
    }
}
