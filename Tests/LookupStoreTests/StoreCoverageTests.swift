import LookbookCore
@testable import LookupStore
import Testing

@Suite struct StoreCoverageTests {
    @Test func aCompleteInStockStoreHasNoWarnings() {
        var content = Fixtures.content()
        for i in content.products.indices { content.products[i].inStock = true }
        #expect(content.coverageDiagnostics() == [])
    }

    @Test func aProductOfUnknownSlotIsNamedWithHowToFixIt() {
        var content = Fixtures.content()
        content.products.append(StoreProduct(id: "X1", title: "Smart thermostat", category: "Home > Gadgets", slot: .other))
        let unknown = content.coverageDiagnostics().filter { $0.code == "unknown-slot" }
        #expect(unknown.count == 1)
        #expect(unknown.first?.severity == .warning)
        #expect(unknown.first?.reason.hasPrefix("product X1 (category \"Home > Gadgets\", title \"Smart thermostat\") matches no slot rule") == true)
        #expect(unknown.first?.reason.contains("[slots] overrides") == true)
    }

    @Test func unknownSlotWarningsAreCappedWithACount() {
        var content = Fixtures.content()
        for n in 0..<5 {
            content.products.append(StoreProduct(id: "X\(n)", title: "Thing \(n)", category: "Home", slot: .other))
        }
        let unknown = content.coverageDiagnostics(productsFile: "products.csv", limit: 2).filter { $0.code == "unknown-slot" }
        #expect(unknown.count == 3)
        #expect(unknown.last?.reason == "3 more products match no slot rule (only the first 2 are listed)")
        #expect(unknown.allSatisfy { $0.file == "products.csv" })
    }

    /// The fixture's only skirt is out of stock but jeans are not: bottoms are fine.
    /// Taking the jeans out of stock too empties the slot.
    @Test func aSlotIsReportedOnlyWhenNoneOfItsProductsIsInStock() {
        var content = Fixtures.content()
        #expect(!content.coverageDiagnostics().contains { $0.code == "slot-out-of-stock" })
        content.products[1].inStock = false
        let warnings = content.coverageDiagnostics().filter { $0.code == "slot-out-of-stock" }
        #expect(warnings.count == 1)
        #expect(warnings.first?.reason.hasPrefix("none of the 2 products of slot bottom is in stock") == true)
    }
}
