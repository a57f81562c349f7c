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
        let reader = try StoreReader(path: storePath)
        try FileOps.makeDirectory(dir)
        var written: [String] = []
        do {
            let complementary = try reader.db.prepare("""
                SELECT c.anchor_id, a.title, a.slot, c.target_slot, c.rank, c.item_id, i.title, i.slot, i.image, c.score, c.reason
                FROM complementary c JOIN products a ON a.id = c.anchor_id LEFT JOIN products i ON i.id = c.item_id
                WHERE (?1 IS NULL OR c.target_slot = ?1)
                  AND (?2 IS NULL OR a.category = ?2 OR substr(a.category, 1, length(?2) + 3) = ?2 || ' > ')
                ORDER BY c.anchor_id, c.target_slot, c.rank
                """)
            let fitb = try reader.db.prepare("""
                SELECT f.outfit_id, o.name, f.position, oi.product_id, b.title, oi.slot, f.rank,
                       f.item_id, i.title, i.slot, i.image, f.score, f.reason
                FROM fitb_candidates f JOIN outfits o ON o.id = f.outfit_id
                JOIN outfit_items oi ON oi.outfit_id = f.outfit_id AND oi.position = f.position
                LEFT JOIN products b ON b.id = oi.product_id LEFT JOIN products i ON i.id = f.item_id
                WHERE (?1 IS NULL OR oi.slot = ?1)
                  AND (?2 IS NULL OR b.category = ?2 OR substr(b.category, 1, length(?2) + 3) = ?2 || ' > ')
                ORDER BY f.outfit_id, f.position, f.rank
                """)
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

    enum Column {
        case text(String), int(String), real(String)
        var name: String {
            switch self { case .text(let n), .int(let n), .real(let n): n }
        }
    }

    /// Streams the statement's rows into `path` (via a temp file renamed at the end, so
    /// a failed export leaves no half-written file under the final name).
    static func write(_ statement: SQLiteStatement, columns: [Column], format: Format, to path: String) throws {
        let temp = path + ".tmp-\(getpid())"
        let file = try BufferedFile(creating: temp)
        var renamed = false
        defer { if !renamed { try? FileOps.remove(temp) } }
        switch format {
        case .csv:
            file.append([0xEF, 0xBB, 0xBF])
            file.append(CSV.row(columns.map(\.name)))
            var fields = [String](repeating: "", count: columns.count)
            while try statement.step() {
                for (i, column) in columns.enumerated() {
                    switch column {
                    case .text: fields[i] = statement.string(i) ?? ""
                    case .int: fields[i] = String(statement.int(i))
                    case .real: fields[i] = String(statement.double(i))
                    }
                }
                file.append(CSV.row(fields))
                try file.flushIfFull()
            }
        case .jsonl:
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.withoutEscapingSlashes]
            while try statement.step() {
                var row = JSONRow(columns: columns)
                for (i, column) in columns.enumerated() where !statement.isNull(i) {
                    switch column {
                    case .text: row.values[i] = .text(statement.string(i) ?? "")
                    case .int: row.values[i] = .int(statement.int(i))
                    case .real: row.values[i] = .real(statement.double(i))
                    }
                }
                file.append(Array(try encoder.encode(row)))
                file.append([0x0A])
                try file.flushIfFull()
            }
        }
        statement.reset()
        try file.close()
        try FileOps.rename(temp, to: path)
        renamed = true
    }

    /// One JSON Lines object, keys in column order, `null` for SQL NULL.
    struct JSONRow: Encodable {
        enum Value { case null, text(String), int(Int), real(Double) }
        let columns: [Column]
        var values: [Value]

        init(columns: [Column]) {
            self.columns = columns
            self.values = Array(repeating: .null, count: columns.count)
        }

        struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            for (column, value) in zip(columns, values) {
                let key = Key(stringValue: column.name)
                switch value {
                case .null: try c.encodeNil(forKey: key)
                case .text(let s): try c.encode(s, forKey: key)
                case .int(let n): try c.encode(n, forKey: key)
                case .real(let x): try c.encode(x, forKey: key)
                }
            }
        }
    }
}

/// RFC 4180 field and record encoding.
public enum CSV {
    /// A field, quoted when it contains `,` `"` CR or LF, with quotes doubled.
    public static func field(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0D || $0 == 0x0A }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A record's bytes: fields joined by `,`, ended by CRLF.
    public static func row(_ fields: [String]) -> [UInt8] {
        var out: [UInt8] = []
        for (i, value) in fields.enumerated() {
            if i > 0 { out.append(0x2C) }
            out.append(contentsOf: field(value).utf8)
        }
        out.append(contentsOf: [0x0D, 0x0A])
        return out
    }
}

/// An output file written through a 1 MiB buffer.
final class BufferedFile {
    let path: String
    private let fd: Int32
    private var buffer: [UInt8] = []
    private static let capacity = 1 << 20

    init(creating path: String) throws(LookbookError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw FileOps.ioError("create", path) }
        buffer.reserveCapacity(Self.capacity + 4096)
    }

    deinit { if fd >= 0 { Foundation.close(fd) } }

    func append(_ bytes: [UInt8]) { buffer.append(contentsOf: bytes) }

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
