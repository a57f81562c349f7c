import CSQLite

/// One SQLite connection. It owns the `sqlite3*` handle and closes it in `deinit`.
///
/// Not `Sendable`: a connection has a single owner that serialises access to it
/// (SQLite itself is opened with `SQLITE_OPEN_NOMUTEX`). Give each thread or actor its
/// own connection; read-only connections to an immutable file are cheap.
public final class SQLiteDatabase {
    /// How to open the file.
    public enum Mode: Sendable {
        case readOnly
        case readWrite
        /// Read-write, creating the file if it does not exist.
        case readWriteCreate
    }

    /// The raw handle, for the rare C call this wrapper does not cover. Valid for the
    /// life of this object; never close it.
    public let handle: OpaquePointer
    /// The path or URI this connection was opened with.
    public let location: String

    /// Process-wide SQLite settings, applied before the first connection opens:
    /// no memory statistics (a global mutex on every allocation otherwise).
    private static let configureOnce: Void = { _ = lookbook_sqlite3_disable_memstatus() }()

    /// Opens `location`, a file path or, with `uri: true`, an SQLite URI such as
    /// `file:/srv/lookbook.sqlite?mode=ro&immutable=1`.
    public init(_ location: String, mode: Mode = .readWriteCreate, uri: Bool = false) throws(SQLiteError) {
        _ = Self.configureOnce
        var flags: Int32 = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        switch mode {
        case .readOnly: flags |= SQLITE_OPEN_READONLY
        case .readWrite: flags |= SQLITE_OPEN_READWRITE
        case .readWriteCreate: flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE
        }
        if uri { flags |= SQLITE_OPEN_URI }
        var db: OpaquePointer?
        let rc = sqlite3_open_v2(location, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            // On failure SQLite usually still returns a handle carrying the message.
            let error = makeError(rc, db, sql: nil)
            sqlite3_close_v2(db)
            throw SQLiteError(code: error.code, extendedCode: error.extendedCode,
                              message: "cannot open \(location): \(error.message)")
        }
        self.handle = db
        self.location = location
        sqlite3_extended_result_codes(db, 1)
    }

    deinit {
        // close_v2 defers the close until statements still alive are finalized; the
        // statements keep this object alive anyway, so this is belt and braces.
        sqlite3_close_v2(handle)
    }

    /// Runs one or more `;`-separated statements that return no rows of interest.
    public func execute(_ sql: String) throws(SQLiteError) {
        var errmsg: UnsafeMutablePointer<CChar>?
        let rc = sqlite3_exec(handle, sql, nil, nil, &errmsg)
        if let errmsg { sqlite3_free(errmsg) }
        try check(rc, handle, sql: sql)
    }

    /// Compiles one statement.
    ///
    /// - Parameter persistent: a hint that the statement is kept and reused many
    ///   times (`SQLITE_PREPARE_PERSISTENT`), as readers' cached statements are.
    public func prepare(_ sql: String, persistent: Bool = false) throws(SQLiteError) -> SQLiteStatement {
        try SQLiteStatement(database: self, sql: sql, persistent: persistent)
    }

    /// Runs `body` inside `BEGIN IMMEDIATE` … `COMMIT`, rolling back if it throws.
    public func transaction<T, E: Error>(_ body: () throws(E) -> T) throws -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let value = try body()
            try execute("COMMIT")
            return value
        } catch {
            // A failed COMMIT may leave the transaction open; ROLLBACK is then right,
            // and harmless if SQLite already rolled back on its own.
            if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// The rowid of the most recent successful `INSERT` on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the most recent `INSERT`, `UPDATE` or `DELETE`.
    public var changes: Int { Int(sqlite3_changes64(handle)) }

    /// Rows changed since the connection was opened.
    public var totalChanges: Int { Int(sqlite3_total_changes64(handle)) }

    /// Whether no transaction is open.
    public var isAutocommit: Bool { sqlite3_get_autocommit(handle) != 0 }

    /// How long a statement waits for another connection's lock before failing with
    /// `SQLITE_BUSY` (0 = fail at once, the default).
    public func setBusyTimeout(milliseconds: Int) throws(SQLiteError) {
        try check(sqlite3_busy_timeout(handle, Int32(clamping: milliseconds)), handle)
    }

    // MARK: Pragmas

    /// The first column of the first row of `PRAGMA name`, as text (nil if no row).
    public func pragma(_ name: String) throws(SQLiteError) -> String? {
        let statement = try prepare("PRAGMA \(name)")
        return try statement.step() ? statement.string(0) : nil
    }

    /// Every row's first column of `PRAGMA name` (`integrity_check` reports one
    /// problem per row).
    public func pragmaRows(_ name: String) throws(SQLiteError) -> [String] {
        let statement = try prepare("PRAGMA \(name)")
        var rows: [String] = []
        while try statement.step() { rows.append(statement.string(0) ?? "") }
        return rows
    }

    /// `PRAGMA name` read as an integer (`user_version`, `application_id`, `page_count`).
    public func pragmaInt(_ name: String) throws(SQLiteError) -> Int {
        let statement = try prepare("PRAGMA \(name)")
        return try statement.step() ? statement.int(0) : 0
    }

    /// `PRAGMA name = value`. `value` is inserted as written: pass only trusted text.
    public func setPragma(_ name: String, _ value: String) throws(SQLiteError) {
        // Some pragmas (journal_mode) answer with a row; step through it.
        let statement = try prepare("PRAGMA \(name) = \(value)")
        while try statement.step() {}
    }

    public func setPragma(_ name: String, _ value: Int) throws(SQLiteError) {
        try setPragma(name, String(value))
    }

    /// `PRAGMA integrity_check`: empty when the file is sound, otherwise SQLite's
    /// list of problems.
    public func integrityProblems() throws(SQLiteError) -> [String] {
        let rows = try pragmaRows("integrity_check")
        return rows == ["ok"] ? [] : rows
    }

    /// The SQLite library version, e.g. `3.40.1`.
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}
