import LookbookCore

extension StoreContent {
    /// Diagnostic codes of `coverageDiagnostics`. Stable: reports key on them.
    public enum CoverageCode {
        /// A product no slot rule places (`other`): kept, but without lists.
        public static let unknownSlot = "unknown-slot"
        /// A slot with products of which none is in stock.
        public static let slotOutOfStock = "slot-out-of-stock"
    }

    /// Warnings about what this store cannot recommend, for the run's quarantine report:
    /// products whose slot no rule knows (they are published, so a storefront still
    /// finds them, but they get no complementary lists and appear in none), and slots
    /// whose products are all out of stock (no anchor gets that slot's list, no blank
    /// of that slot gets candidates; the other slots' lists are unaffected).
    ///
    /// Derived from the content alone, so the publisher's caller adds them to the
    /// run's diagnostics without recomputing anything.
    ///
    /// - Parameters:
    ///   - productsFile: the catalog file the products came from, for the report.
    ///   - limit: at most this many `unknown-slot` warnings; one more says how many
    ///     were left out.
    public func coverageDiagnostics(productsFile: String = "products.jsonl", limit: Int = 1000) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var unknown = 0
        var total: [Slot: Int] = [:], inStock: [Slot: Int] = [:]
        for product in products {
            total[product.slot, default: 0] += 1
            if product.inStock { inStock[product.slot, default: 0] += 1 }
            guard product.slot == .other else { continue }
            unknown += 1
            if unknown <= limit {
                diagnostics.append(Diagnostic(
                    .warning, code: CoverageCode.unknownSlot, file: productsFile,
                    reason: "product \(product.id) (category \"\(product.category)\", title \"\(product.title)\") matches no slot rule: it is published but gets no complementary lists and is in none; if it is apparel, map its category with a [slots] overrides entry in the job file"))
            }
        }
        if unknown > limit {
            diagnostics.append(Diagnostic(.warning, code: CoverageCode.unknownSlot, file: productsFile,
                                          reason: "\(unknown - limit) more products match no slot rule (only the first \(limit) are listed)"))
        }
        for slot in Slot.allCases where slot != .other {
            guard let count = total[slot], count > 0, inStock[slot, default: 0] == 0 else { continue }
            diagnostics.append(Diagnostic(
                .warning, code: CoverageCode.slotOutOfStock, file: productsFile,
                reason: "none of the \(count) products of slot \(slot.rawValue) is in stock: no product gets a \(slot.rawValue) list and no \(slot.rawValue) blank of a curated look gets candidates; the other slots' lists are published as usual"))
        }
        return diagnostics
    }
}
