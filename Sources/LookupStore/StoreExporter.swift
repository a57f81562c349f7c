import Foundation
import LookbookCore
import SQLiteSupport

/// Writes a store's lists as flat files for merchandisers and spreadsheets:
/// `complementary.csv|jsonl` and `fitb.csv|jsonl`, one row per recommended item.
///
/// Columns, in order (JSON Lines uses the same keys, with `null` for missing values):
/// - complementary: `anchor_id, anchor_title, anchor_slot, target_slot, rank, item_id,
///   item_title, item_slot, item_image, score, reason`
/// - fitb: `outfit_id, outfit_name, position, blank_id, blank_title, blank_slot, rank,
///   item_id, item_title, item_slot, item_image, score, reason` (`blank_*` is the
///   outfit's own item at that position)
///
/// CSV is RFC 4180: UTF-8 with a byte-order mark (so spreadsheets detect the encoding),
/// CRLF line ends, fields quoted when they contain `,` `"` CR or LF, quotes doubled.
/// Rows are in key order: anchor, target slot, rank; outfit, position, rank.
///
/// The queries read the `complementary` and `fitb_candidates` views and order by the
/// list key only: the lists table is scanned in key order, and `json_each` yields a
/// list's items in array order, which is rank order. Adding `rank` to `ORDER BY` would
/// make SQLite sort every exported row in a temp b-tree instead of streaming them.
public enum StoreExporter {
    public enum Format: String, Sendable, CaseIterable {
        case csv, jsonl
    }

    /// Exports the store at `storePath` into `dir` (created if missing).
    ///
    /// - Parameters:
    ///   - slot: only lists for this target slot (FITB: blanks of this slot).
    ///   - category: only anchors (FITB: blanks) whose category is this path or under
    ///     it: `Women > Shoes` matches `Women > Shoes > Ankle Boots`.
    /// - Returns: the paths written.
    @discardableResult
    public static func export(storePath: String, format: Format, to dir: String,
                              slot: Slot? = nil, category: String? = nil) throws -> [String] {
        // No memory map: an export reads the whole file once, and mapped pages count in
        // the process's RSS, which then grew with the store (61 → 137 MiB from a 26 to a
        // 104 MiB store); through SQLite's bounded page cache it stays flat (38 MiB for
        // 1M and for 4M exported rows).
        let reader = try StoreReader(path: storePath, mmapMiB: 0)
        try FileOps.makeDirectory(dir)
        var written: [String] = []
        do {
            let complementary = try reader.db.prepare(complementarySQL)
            let fitb = try reader.db.prepare(fitbSQL)
            let tables: [(name: String, statement: SQLiteStatement, columns: [Column])] = [
                ("complementary", complementary, [
                    .text("anchor_id"), .text("anchor_title"), .text("anchor_slot"), .text("target_slot"), .int("rank"),
                    .text("item_id"), .text("item_title"), .text("item_slot"), .text("item_image"), .real("score"), .text("reason"),
                ]),
                ("fitb", fitb, [
                    .text("outfit_id"), .text("outfit_name"), .int("position"), .text("blank_id"), .text("blank_title"),
                    .text("blank_slot"), .int("rank"), .text("item_id"), .text("item_title"), .text("item_slot"),
                    .text("item_image"), .real("score"), .text("reason"),
                ]),
            ]
            for table in tables {
                try table.statement.bind(slot?.rawValue, at: 1)
                try table.statement.bind(category, at: 2)
                let path = dir + "/" + table.name + "." + format.rawValue
                try write(table.statement, columns: table.columns, format: format, to: path)
                written.append(path)
            }
        } catch let error as SQLiteError {
            throw LookbookError(.store, "cannot export the store \(storePath): \(error.message)", underlying: error.description)
        }
        return written
    }

    /// One row per complementary item; `?1` the target slot, `?2` the anchor's category
    /// (NULL: no filter).
    static let complementarySQL = """
        SELECT c.anchor_id, a.title, a.slot, c.target_slot, c.rank, c.item_id, i.title, i.slot, i.image, c.score, r.text
        FROM complementary c JOIN products a ON a.id = c.anchor_id LEFT JOIN products i ON i.id = c.item_id
        JOIN reasons r ON r.id = c.reason_id
        WHERE (?1 IS NULL OR c.target_slot = ?1)
          AND (?2 IS NULL OR a.category = ?2 OR substr(a.category, 1, length(?2) + 3) = ?2 || ' > ')
        ORDER BY c.anchor_id, c.target_slot
        """

    /// One row per FITB candidate; `?1` the blank's slot, `?2` the blank's category.
    static let fitbSQL = """
        SELECT f.outfit_id, o.name, f.position, oi.product_id, b.title, oi.slot, f.rank,
               f.item_id, i.title, i.slot, i.image, f.score, r.text
        FROM fitb_candidates f JOIN outfits o ON o.id = f.outfit_id
        JOIN outfit_items oi ON oi.outfit_id = f.outfit_id AND oi.position = f.position
        LEFT JOIN products b ON b.id = oi.product_id LEFT JOIN products i ON i.id = f.item_id
        JOIN reasons r ON r.id = f.reason_id
        WHERE (?1 IS NULL OR oi.slot = ?1)
          AND (?2 IS NULL OR b.category = ?2 OR substr(b.category, 1, length(?2) + 3) = ?2 || ' > ')
        ORDER BY f.outfit_id, f.position
        """

    enum Column {
        case text(String), int(String), real(String)
        var name: String {
            switch self { case .text(let n), .int(let n), .real(let n): n }
        }
    }

    /// Streams the statement's rows into `path` (via a temp file renamed at the end, so
    /// a failed export leaves no half-written file under the final name). Text goes
    /// from SQLite's buffer into the output buffer without a `String` in between.
    static func write(_ statement: SQLiteStatement, columns: [Column], format: Format, to path: String) throws {
        let temp = path + ".tmp-\(getpid())"
        let file = try BufferedFile(creating: temp)
        var renamed = false
        defer { if !renamed { try? FileOps.remove(temp) } }
        defer { statement.reset() }
        switch format {
        case .csv:
            file.buffer.append(contentsOf: [0xEF, 0xBB, 0xBF])
            file.buffer.append(contentsOf: CSV.row(columns.map(\.name)))
            while try statement.step() {
                for (i, column) in columns.enumerated() {
                    if i > 0 { file.buffer.append(0x2C) }
                    switch column {
                    case .text: statement.withUTF8(i) { CSV.appendField($0, to: &file.buffer) }
                    case .int: file.buffer.append(contentsOf: String(statement.int(i)).utf8)
                    case .real: file.buffer.append(contentsOf: String(statement.double(i)).utf8)
                    }
                }
                file.buffer.append(contentsOf: [0x0D, 0x0A])
                try file.flushIfFull()
            }
        case .jsonl:
            let keys = columns.map { column in
                var key: [UInt8] = []
                JSONText.appendString(Array(column.name.utf8), to: &key)
                return key + [0x3A]
            }
            while try statement.step() {
                file.buffer.append(0x7B)
                for (i, column) in columns.enumerated() {
                    if i > 0 { file.buffer.append(0x2C) }
                    file.buffer.append(contentsOf: keys[i])
                    if statement.isNull(i) {
                        file.buffer.append(contentsOf: "null".utf8)
                        continue
                    }
                    switch column {
                    case .text: statement.withUTF8(i) { JSONText.appendString($0, to: &file.buffer) }
                    case .int: file.buffer.append(contentsOf: String(statement.int(i)).utf8)
                    case .real: JSONText.appendNumber(statement.double(i), to: &file.buffer)
                    }
                }
                file.buffer.append(contentsOf: [0x7D, 0x0A])
                try file.flushIfFull()
            }
        }
        try file.close()
        try FileOps.rename(temp, to: path)
        renamed = true
    }
}

/// RFC 4180 field and record encoding.
public enum CSV {
    /// A field, quoted when it contains `,` `"` CR or LF, with quotes doubled.
    public static func field(_ value: String) -> String {
        var out: [UInt8] = []
        appendField(Array(value.utf8), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// A record's bytes: fields joined by `,`, ended by CRLF.
    public static func row(_ fields: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, value) in fields.enumerated() {
            if i > 0 { out.append(0x2C) }
            appendField(Array(value.utf8), to: &out)
        }
        out.append(contentsOf: [0x0D, 0x0A])
        return out
    }

    static func appendField<C: Collection<UInt8>>(_ utf8: C, to out: inout [UInt8]) {
        guard utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else {
            out.append(contentsOf: utf8)
            return
        }
        out.append(0x22)
        for byte in utf8 {
            out.append(byte)
            if byte == 0x22 { out.append(0x22) }
        }
        out.append(0x22)
    }
}

/// JSON (RFC 8259) string and number text, written straight into a byte buffer.
enum JSONText {
    /// A quoted string: `"` and `\` escaped, control characters as `\n`, `\t`… or
    /// `\u00XX`; everything else, non-ASCII included, passes through as UTF-8.
    static func appendString<C: Collection<UInt8>>(_ utf8: C, to out: inout [UInt8]) {
        out.append(0x22)
        let hex = Array("0123456789abcdef".utf8)
        for byte in utf8 {
            switch byte {
            case 0x22: out.append(contentsOf: [0x5C, 0x22])
            case 0x5C: out.append(contentsOf: [0x5C, 0x5C])
            case 0x0A: out.append(contentsOf: [0x5C, 0x6E])
            case 0x0D: out.append(contentsOf: [0x5C, 0x72])
            case 0x09: out.append(contentsOf: [0x5C, 0x74])
            case 0x08: out.append(contentsOf: [0x5C, 0x62])
            case 0x0C: out.append(contentsOf: [0x5C, 0x66])
            case 0..<0x20: out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            default: out.append(byte)
            }
        }
        out.append(0x22)
    }

    /// Shortest round-trip decimal; `null` for infinities and NaN, which JSON lacks.
    static func appendNumber(_ value: Double, to out: inout [UInt8]) {
        guard value.isFinite else { out.append(contentsOf: "null".utf8); return }
        out.append(contentsOf: String(value).utf8)
    }
}

/// An output file written through a 1 MiB buffer: callers append to `buffer` and
/// call `flushIfFull()` after each record.
final class BufferedFile {
    let path: String
    private let fd: Int32
    var buffer: [UInt8] = []
    private static let capacity = 1 << 20

    init(creating path: String) throws(LookbookError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileOps.ioError("create", path) }
        buffer.reserveCapacity(Self.capacity + 4096)
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }

    func flushIfFull() throws(LookbookError) {
        if buffer.count >= Self.capacity { try flush() }
    }

    func flush() throws(LookbookError) {
        var offset = 0
        while offset < buffer.count {
            let n = buffer.withUnsafeBytes { Foundation.write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileOps.ioError("write", path)
            }
            offset += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    func close() throws(LookbookError) {
        try flush()
    }
}
