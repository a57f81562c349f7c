import CSQLite

/// An error reported by SQLite, with the library's own codes and message kept intact.
///
/// `code` is the primary result code (`SQLITE_CONSTRAINT` = 19), `extendedCode` the
/// extended one (`SQLITE_CONSTRAINT_PRIMARYKEY` = 1555); `message` is
/// `sqlite3_errmsg` at the time of the failure and `sql` the statement involved, if any.
public struct SQLiteError: Error, Sendable, Equatable, Hashable, CustomStringConvertible {
    public var code: Int32
    public var extendedCode: Int32
    public var message: String
    public var sql: String?

    public init(code: Int32, extendedCode: Int32? = nil, message: String, sql: String? = nil) {
        self.code = code
        self.extendedCode = extendedCode ?? code
        self.message = message
        self.sql = sql
    }

    /// The English name of the result code (`"constraint failed"`), from `sqlite3_errstr`.
    public var codeDescription: String { String(cString: sqlite3_errstr(extendedCode)) }

    public var description: String {
        var text = "SQLite error \(extendedCode) (\(codeDescription)): \(message)"
        if let sql { text += " — while running: \(sql.count > 200 ? String(sql.prefix(200)) + "…" : sql)" }
        return text
    }
}

/// The one place every SQLite return code is checked.
///
/// Success codes (`SQLITE_OK`, `SQLITE_ROW`, `SQLITE_DONE`) are returned so callers
/// can tell a row from the end; anything else throws `SQLiteError` with the
/// connection's message. `db` may be nil when no connection exists yet.
@discardableResult
@inline(__always)
func check(_ rc: Int32, _ db: OpaquePointer?, sql: String? = nil) throws(SQLiteError) -> Int32 {
    if rc == SQLITE_OK || rc == SQLITE_ROW || rc == SQLITE_DONE { return rc }
    throw makeError(rc, db, sql: sql)
}

@inline(never)
func makeError(_ rc: Int32, _ db: OpaquePointer?, sql: String?) -> SQLiteError {
    let message: String
    let extended: Int32
    if let db {
        message = String(cString: sqlite3_errmsg(db))
        extended = sqlite3_extended_errcode(db)
    } else {
        message = String(cString: sqlite3_errstr(rc))
        extended = rc
    }
    // The connection's extended code can be stale when `rc` came from elsewhere
    // (sqlite3_open_v2 without a handle, misuse): trust `rc` in that case.
    let code = rc & 0xFF
    return SQLiteError(code: code, extendedCode: (extended & 0xFF) == code ? extended : rc, message: message, sql: sql)
}
