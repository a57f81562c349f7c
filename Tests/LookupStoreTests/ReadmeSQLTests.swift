import Foundation
import LookbookCore
@testable import LookupStore
import SQLiteSupport
import Testing

/// The storefront SQL printed in the README ("The store", after "What a storefront
/// runs:"), read from README.md itself and run against a published store, so the
/// documentation cannot drift from the schema.
@Suite struct ReadmeSQLTests {
    static let readme: String = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return (try? String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)) ?? ""
    }()

    /// The statements of the ```sql blocks after "What a storefront runs:" in "## The store".
    static var storefrontStatements: [String] {
        guard let section = readme.range(of: "## The store"),
              let start = readme.range(of: "What a storefront runs:", range: section.upperBound..<readme.endIndex) else { return [] }
        let end = readme.range(of: "\n## ", range: start.upperBound..<readme.endIndex)?.lowerBound ?? readme.endIndex
        var statements: [String] = []
        var inSQL = false, current: [String] = []
        for line in readme[start.upperBound..<end].split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("```") { inSQL = line == "```sql"; current = []; continue }
            guard inSQL else { continue }
            let code = line.hasPrefix("--") ? "" : String(line)
            if !code.isEmpty { current.append(code) }
            if code.hasSuffix(";") { statements.append(current.joined(separator: "\n")); current = [] }
        }
        return statements
    }

    /// Values for the README's named parameters, on `Fixtures.content()`.
    static let parameters: [String: String] = [":product": "top-1", ":slot": "bottom", ":outfit": "look-1", ":position": "2"]

    @Test func theReadmeHasStorefrontSQL() {
        #expect(Self.storefrontStatements.count >= 4, "\(Self.storefrontStatements)")
        #expect(Self.storefrontStatements.contains { $0.contains("product_looks") })
    }

    @Test(arguments: storefrontStatements)
    func readmeQueryRunsAndFindsRows(sql: String) throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.path)
        let db = try SQLiteDatabase("file:\(result.path)?mode=ro&immutable=1", mode: .readOnly, uri: true)
        let statement = try db.prepare(sql)
        // SQLite numbers named parameters in order of first appearance.
        var names: [String] = []
        for match in sql.matches(of: /:[a-z_]+/) where !names.contains(String(match.output)) { names.append(String(match.output)) }
        for (n, name) in names.enumerated() {
            let value = try #require(Self.parameters[name], "README uses \(name); give it a value here")
            if let int = Int(value) { try statement.bind(int, at: n + 1) } else { try statement.bind(value, at: n + 1) }
        }
        var rows = 0
        while try statement.step() { rows += 1 }
        #expect(rows > 0, "\(sql)")
    }

    /// The README's looks query gives, row for row, what `looks(containing:)` gives.
    @Test func readmeLooksQueryEqualsTheReader() throws {
        let sql = try #require(Self.storefrontStatements.first { $0.contains("product_looks") })
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.path)
        let db = try SQLiteDatabase("file:\(result.path)?mode=ro&immutable=1", mode: .readOnly, uri: true)
        let statement = try db.prepare(sql)
        try statement.bind("top-1", at: 1)
        var rows: [[String]] = []
        while try statement.step() {
            rows.append([statement.string(0) ?? "", String(statement.int(2)), String(statement.int(3)), statement.string(4) ?? ""])
        }
        let looks = try StoreReader(path: result.path).looks(containing: "top-1")
        #expect(rows == looks.flatMap { look in look.items.map { [look.outfitID, String(look.position), String($0.position), $0.id] } })
        #expect(rows.count == 5)
    }
}
