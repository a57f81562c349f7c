import Foundation
import SQLiteSupport
import Testing

@Suite struct SQLiteSupportTests {
    func memory() throws -> SQLiteDatabase {
        let db = try SQLiteDatabase(":memory:")
        try db.execute("CREATE TABLE t(i INTEGER, r REAL, s TEXT, b BLOB)")
        return db
    }

    @Test func bindsAndReadsEveryType() throws {
        let db = try memory()
        let insert = try db.prepare("INSERT INTO t VALUES (?, ?, ?, ?)")
        try insert.bind(Int64.max, at: 1)
        try insert.bind(-0.5, at: 2)
        try insert.bind("naïve, 百 👜", at: 3)
        try insert.bind([0, 1, 255] as [UInt8], at: 4)
        try insert.run()
        #expect(db.lastInsertRowID == 1)
        #expect(db.changes == 1)
        try insert.bind(42, at: 1)
        try insert.bind(nil, at: 2)
        try insert.bind("", at: 3)
        try insert.bind(Data(), at: 4)
        try insert.run()
        insert.clearBindings()
        try insert.run()

        let select = try db.prepare("SELECT i, r, s, b FROM t ORDER BY rowid")
        #expect(try select.step())
        #expect(select.int64(0) == .max)
        #expect(select.double(1) == -0.5)
        #expect(select.string(2) == "naïve, 百 👜")
        #expect(select.bytes(3) == [0, 1, 255])
        #expect(try select.step())
        #expect(select.int(0) == 42)
        #expect(select.isNull(1))
        #expect(select.string(2) == "" && !select.isNull(2), "empty text is not NULL")
        #expect(try select.step())
        #expect(select.isNull(0) && select.string(2) == nil && select.bytes(3) == nil)
        #expect(try !select.step())
    }

    @Test func optionalBindings() throws {
        let db = try memory()
        let insert = try db.prepare("INSERT INTO t(i, s) VALUES (?, ?)")
        let none: String? = nil, some: Int? = 7
        try insert.bind(some, at: 1)
        try insert.bind(none, at: 2)
        try insert.run()
        let select = try db.prepare("SELECT i, s IS NULL FROM t")
        #expect(try select.step())
        #expect(select.int(0) == 7 && select.int(1) == 1)
    }

    @Test func transactionRollsBackWhenTheBodyThrows() throws {
        let db = try memory()
        struct Stop: Error {}
        #expect(throws: Stop.self) {
            try db.transaction {
                try db.execute("INSERT INTO t(i) VALUES (1)")
                throw Stop()
            }
        }
        #expect(db.isAutocommit)
        #expect(try db.pragmaInt("user_version") == 0)
        let count = try db.prepare("SELECT count(*) FROM t")
        #expect(try count.step())
        #expect(count.int(0) == 0)
        let value = try db.transaction { () throws(SQLiteError) -> Int in
            try db.execute("INSERT INTO t(i) VALUES (1)")
            return db.changes
        }
        #expect(value == 1)
    }

    @Test func errorsKeepSQLitesCodeMessageAndStatement() throws {
        let db = try memory()
        try db.execute("CREATE TABLE u(k TEXT PRIMARY KEY)")
        try db.execute("INSERT INTO u VALUES ('a')")
        let error = try #require(throws: SQLiteError.self) { try db.execute("INSERT INTO u VALUES ('a')") }
        #expect(error.code == 19)
        #expect(error.extendedCode == 1555)
        #expect(error.message == "UNIQUE constraint failed: u.k")
        #expect(error.sql == "INSERT INTO u VALUES ('a')")

        let syntax = try #require(throws: SQLiteError.self) { try db.prepare("SELEC 1") }
        #expect(syntax.code == 1)
        #expect(syntax.message.contains("syntax error"))
    }

    @Test func openingAMissingFileReadOnlyFails() throws {
        let error = try #require(throws: SQLiteError.self) {
            try SQLiteDatabase("/nonexistent/dir/x.sqlite", mode: .readOnly)
        }
        #expect(error.code == 14)
        #expect(error.message.contains("/nonexistent/dir/x.sqlite"))
    }
}
