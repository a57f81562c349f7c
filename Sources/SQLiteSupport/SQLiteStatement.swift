import CSQLite
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `SQLITE_TRANSIENT`, a macro Swift cannot import: SQLite copies the bound bytes.
let transientDestructor = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

/// A compiled statement; finalized in `deinit`.
///
/// Parameter indices are 1-based, column indices 0-based, as in the C API. Not
/// `Sendable`: it belongs to its connection's owner.
///
/// Binding copies text and blobs (`SQLITE_TRANSIENT`): the Swift string's UTF-8 is
/// handed over without an intermediate copy, SQLite makes the one copy it must keep.
/// Column text is decoded straight from SQLite's buffer with its byte length, so no
/// `strlen` and no extra copy.
public final class SQLiteStatement {
    public let handle: OpaquePointer
    /// Keeps the connection open while this statement lives.
    public let database: SQLiteDatabase
    public let sql: String

    init(database: SQLiteDatabase, sql: String, persistent: Bool) throws(SQLiteError) {
        var statement: OpaquePointer?
        let flags: UInt32 = persistent ? UInt32(SQLITE_PREPARE_PERSISTENT) : 0
        try check(sqlite3_prepare_v3(database.handle, sql, -1, flags, &statement, nil), database.handle, sql: sql)
        guard let statement else {
            throw SQLiteError(code: SQLITE_MISUSE, message: "no statement in SQL text", sql: sql)
        }
        self.handle = statement
        self.database = database
        self.sql = sql
    }

    deinit { sqlite3_finalize(handle) }

    // MARK: Running

    /// Advances to the next row: true when a row is available, false when done.
    @discardableResult
    @inline(__always)
    public func step() throws(SQLiteError) -> Bool {
        // The hot loop of every read: test the two expected codes first, and only
        // build an error (which touches `sql`) off the fast path.
        let rc = sqlite3_step(handle)
        if rc == SQLITE_ROW { return true }
        if rc == SQLITE_DONE { return false }
        throw makeError(rc, database.handle, sql: sql)
    }

    /// Runs the statement to completion (for `INSERT`, `UPDATE`, DDL), then resets it
    /// so it can be bound and run again. Bindings stay unless `clearBindings()`.
    @inline(__always)
    public func run() throws(SQLiteError) {
        defer { sqlite3_reset(handle) }
        while try step() {}
    }

    /// Rewinds to before the first row; bindings are kept.
    @inline(__always)
    public func reset() {
        // The error of the last step, if any, was already thrown by step().
        sqlite3_reset(handle)
    }

    /// Sets every parameter to NULL.
    public func clearBindings() { sqlite3_clear_bindings(handle) }

    // MARK: Binding

    @inline(__always)
    public func bind(_ value: Int, at index: Int) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, Int32(index), Int64(value)), database.handle, sql: sql)
    }

    @inline(__always)
    public func bind(_ value: Int64, at index: Int) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, Int32(index), value), database.handle, sql: sql)
    }

    /// Booleans are stored as 0 or 1.
    @inline(__always)
    public func bind(_ value: Bool, at index: Int) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, Int32(index), value ? 1 : 0), database.handle, sql: sql)
    }

    @inline(__always)
    public func bind(_ value: Double, at index: Int) throws(SQLiteError) {
        try check(sqlite3_bind_double(handle, Int32(index), value), database.handle, sql: sql)
    }

    @inline(__always)
    public func bind(_ value: String, at index: Int) throws(SQLiteError) {
        var value = value
        let rc = value.withUTF8 { utf8 -> Int32 in
            guard let base = utf8.baseAddress, utf8.count > 0 else {
                // Empty text, not NULL: SQLite needs a non-null pointer for that.
                return sqlite3_bind_text(handle, Int32(index), "", 0, nil)
            }
            return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                sqlite3_bind_text(handle, Int32(index), $0, Int32(utf8.count), transientDestructor)
            }
        }
        try check(rc, database.handle, sql: sql)
    }

    /// Binds `utf8` as TEXT (not a blob, which `bind(_: [UInt8])` makes): for text
    /// built in a byte buffer, such as JSON, without a `String` in between. The bytes
    /// must be valid UTF-8.
    public func bindText(_ utf8: [UInt8], at index: Int) throws(SQLiteError) {
        let rc = utf8.withUnsafeBufferPointer { bytes -> Int32 in
            guard let base = bytes.baseAddress, bytes.count > 0 else {
                return sqlite3_bind_text(handle, Int32(index), "", 0, nil)
            }
            return UnsafeRawPointer(base).withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text(handle, Int32(index), $0, Int32(bytes.count), transientDestructor)
            }
        }
        try check(rc, database.handle, sql: sql)
    }

    public func bind(_ value: [UInt8], at index: Int) throws(SQLiteError) {
        let rc = value.withUnsafeBytes { bytes in
            sqlite3_bind_blob(handle, Int32(index), bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), transientDestructor)
        }
        try check(rc, database.handle, sql: sql)
    }

    public func bind(_ value: Data, at index: Int) throws(SQLiteError) {
        let rc = value.withUnsafeBytes { bytes in
            sqlite3_bind_blob(handle, Int32(index), bytes.baseAddress ?? UnsafeRawPointer(bitPattern: 1), Int32(bytes.count), transientDestructor)
        }
        try check(rc, database.handle, sql: sql)
    }

    /// Binds NULL: `bind(nil, at: 3)`.
    public func bind(_ value: Never?, at index: Int) throws(SQLiteError) {
        try bindNull(at: index)
    }

    @inline(__always)
    public func bindNull(at index: Int) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, Int32(index)), database.handle, sql: sql)
    }

    /// Binds the value, or NULL when it is nil.
    @inline(__always)
    public func bind<T: SQLiteBindable>(_ value: T?, at index: Int) throws(SQLiteError) {
        if let value { try value.bind(to: self, at: index) } else { try bindNull(at: index) }
    }

    /// The 1-based index of a named parameter (`:id`, `@id`, `$id`), or nil.
    public func parameterIndex(_ name: String) -> Int? {
        let index = sqlite3_bind_parameter_index(handle, name)
        return index == 0 ? nil : Int(index)
    }

    public var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    // MARK: Columns of the current row

    public var columnCount: Int { Int(sqlite3_column_count(handle)) }

    public func columnName(_ index: Int) -> String {
        sqlite3_column_name(handle, Int32(index)).map { String(cString: $0) } ?? ""
    }

    @inline(__always)
    public func isNull(_ index: Int) -> Bool {
        sqlite3_column_type(handle, Int32(index)) == SQLITE_NULL
    }

    /// The column as an integer (0 for NULL).
    @inline(__always)
    public func int(_ index: Int) -> Int { Int(sqlite3_column_int64(handle, Int32(index))) }

    @inline(__always)
    public func int64(_ index: Int) -> Int64 { sqlite3_column_int64(handle, Int32(index)) }

    /// The column as a floating-point number (0 for NULL).
    @inline(__always)
    public func double(_ index: Int) -> Double { sqlite3_column_double(handle, Int32(index)) }

    /// The column as text, or nil for NULL.
    @inline(__always)
    public func string(_ index: Int) -> String? {
        guard let text = sqlite3_column_text(handle, Int32(index)) else { return nil }
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    /// Calls `body` with the column's UTF-8 bytes in SQLite's own buffer, valid only
    /// during the call: for comparing or parsing without making a `String`. NULL
    /// gives an empty buffer.
    @inline(__always)
    public func withUTF8<R, E: Error>(_ index: Int, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        let text = sqlite3_column_text(handle, Int32(index))
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return try body(UnsafeBufferPointer(start: text, count: text == nil ? 0 : count))
    }

    /// The column as bytes, or nil for NULL.
    public func bytes(_ index: Int) -> [UInt8]? {
        if isNull(index) { return nil }
        guard let blob = sqlite3_column_blob(handle, Int32(index)) else { return [] }
        let count = Int(sqlite3_column_bytes(handle, Int32(index)))
        return Array(UnsafeRawBufferPointer(start: blob, count: count))
    }

    public func data(_ index: Int) -> Data? { bytes(index).map { Data($0) } }
}

/// A Swift value that binds to one statement parameter.
public protocol SQLiteBindable {
    func bind(to statement: SQLiteStatement, at index: Int) throws(SQLiteError)
}

extension Int: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int) throws(SQLiteError) { try statement.bind(self, at: index) }
}
extension Int64: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int) throws(SQLiteError) { try statement.bind(self, at: index) }
}
extension Bool: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int) throws(SQLiteError) { try statement.bind(self, at: index) }
}
extension Double: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int) throws(SQLiteError) { try statement.bind(self, at: index) }
}
extension String: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int) throws(SQLiteError) { try statement.bind(self, at: index) }
}
extension Array: SQLiteBindable where Element == UInt8 {
    public func bind(to statement: SQLiteStatement, at index: Int) throws(SQLiteError) { try statement.bind(self, at: index) }
}
extension Data: SQLiteBindable {
    public func bind(to statement: SQLiteStatement, at index: Int) throws(SQLiteError) { try statement.bind(self, at: index) }
}

extension SQLiteStatement {
    /// Binds `values` to parameters 1, 2, … in order (nil binds NULL).
    public func bind(_ values: [(any SQLiteBindable)?]) throws(SQLiteError) {
        for (offset, value) in values.enumerated() {
            if let value { try value.bind(to: self, at: offset + 1) } else { try bindNull(at: offset + 1) }
        }
    }
}
