import Foundation
import LookbookCore
@testable import LookupStore
import SQLiteSupport
import Testing

@Suite struct StoreReaderTests {
    @Test func refusesAnSQLiteFileThatIsNotAStore() throws {
        let dir = try TempDirectory()
        let path = dir.file("other.sqlite")
        do {
            let db = try SQLiteDatabase(path)
            try db.execute("CREATE TABLE t(x); INSERT INTO t VALUES (1)")
        }
        let error = try #require(throws: LookbookError.self) { try StoreReader(path: path) }
        #expect(error.code == .store)
        #expect(error.message.contains("is not a Lookbook store"))
    }

    @Test func refusesAFileThatIsNotSQLite() throws {
        let dir = try TempDirectory()
        let path = dir.file("lookbook.sqlite")
        try Data(repeating: 0x41, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: LookbookError.self) { try StoreReader(path: path) }
        #expect(error.message.contains("is not a Lookbook store"))
    }

    @Test func refusesAnotherSchemaVersion() throws {
        let dir = try TempDirectory()
        let path = dir.file("future.sqlite")
        do {
            let db = try SQLiteDatabase(path)
            try db.setPragma("application_id", Int(StoreSchema.applicationID))
            try db.setPragma("user_version", 2)
            try db.execute("CREATE TABLE meta(key, value)")
        }
        let error = try #require(throws: LookbookError.self) { try StoreReader(path: path) }
        #expect(error.message.contains("store schema version 2, this reader supports 1"))
    }

    @Test func refusesAnIdentifiedFileWithoutTheTables() throws {
        let dir = try TempDirectory()
        let path = dir.file("empty.sqlite")
        do {
            let db = try SQLiteDatabase(path)
            try db.setPragma("application_id", Int(StoreSchema.applicationID))
            try db.setPragma("user_version", StoreSchema.version)
            try db.execute("CREATE TABLE meta(key, value)")
        }
        let error = try #require(throws: LookbookError.self) { try StoreReader(path: path) }
        #expect(error.code == .store)
        #expect(error.message.contains("cannot read the store"))
        #expect(error.underlying?.contains("no such table") == true)
    }

    @Test func exportRefusesANonStore() throws {
        let dir = try TempDirectory()
        try Data("not sqlite".utf8).write(to: URL(fileURLWithPath: dir.file("x.sqlite")))
        #expect(throws: LookbookError.self) {
            try StoreExporter.export(storePath: dir.file("x.sqlite"), format: .csv, to: dir.file("out"))
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("out")))
    }

    @Test func saysWhenThereIsNoStore() throws {
        let dir = try TempDirectory()
        let error = try #require(throws: LookbookError.self) { try StoreReader(path: dir.file("none.sqlite")) }
        #expect(error.message.contains("no store at"))
    }

    @Test(arguments: ["plain", "with space", "q?mark", "hash#tag", "per%cent"])
    func opensPathsThatNeedURIEscaping(name: String) throws {
        let dir = try TempDirectory()
        let out = dir.file(name)
        let result = try StorePublisher().publish(Fixtures.content(), to: out)
        #expect(try StoreReader(path: result.path).product(id: "bag-1")?.title == "Tote 👜")
    }

    @Test func readerNeverWritesTheFile() throws {
        let dir = try TempDirectory()
        let result = try StorePublisher().publish(Fixtures.content(), to: dir.path)
        let before = try dir.bytes("lookbook.sqlite")
        do {
            let reader = try StoreReader(path: result.path)
            for _ in 0..<3 { _ = try reader.productView(id: "top-1") }
        }
        #expect(try dir.bytes("lookbook.sqlite") == before)
        #expect(try dir.names() == ["lookbook.manifest.json", "lookbook.sqlite", "stores"])
    }
}
