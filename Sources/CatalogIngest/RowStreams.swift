import Foundation

/// Cuts a byte stream into lines as blocks arrive, without copying lines that lie
/// inside one block. Only a line split across two blocks is copied (into `carry`).
struct LineSplitter {
    private var carry: [UInt8] = []
    /// 1-based number of the last line handed out.
    private(set) var lineNumber = 0

    /// Calls `onLine(line, lineNumber)` for each complete line in `block` (without the
    /// `\n` or a trailing `\r`). A UTF-8 byte order mark at the very start is dropped.
    mutating func feed(_ block: UnsafeRawBufferPointer,
                       _ onLine: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows {
        guard let base = block.baseAddress, block.count > 0 else { return }
        var start = 0
        while start < block.count {
            guard let nl = memchr(base + start, 0x0A, block.count - start) else {
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: block[start...]))
                return
            }
            let end = base.distance(to: UnsafeRawPointer(nl))
            lineNumber += 1
            if carry.isEmpty {
                try onLine(trimCR(UnsafeRawBufferPointer(rebasing: block[start..<end])), lineNumber)
            } else {
                carry.append(contentsOf: UnsafeRawBufferPointer(rebasing: block[start..<end]))
                try carry.withUnsafeBytes { try onLine(trimCR($0), lineNumber) }
                carry.removeAll(keepingCapacity: true)
            }
            start = end + 1
        }
    }

    /// Hands out a last line that has no newline after it.
    mutating func finish(_ onLine: (UnsafeRawBufferPointer, Int) throws -> Void) rethrows {
        guard !carry.isEmpty else { return }
        lineNumber += 1
        try carry.withUnsafeBytes { try onLine(trimCR($0), lineNumber) }
        carry.removeAll()
    }

    /// Drops a trailing `\r`, and the byte order mark of line 1.
    private func trimCR(_ p: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var p = p
        if lineNumber == 1, p.count >= 3, p[0] == 0xEF, p[1] == 0xBB, p[2] == 0xBF {
            p = UnsafeRawBufferPointer(rebasing: p[3...])
        }
        if let last = p.last, last == 0x0D { return UnsafeRawBufferPointer(rebasing: p.dropLast()) }
        return p
    }
}

/// An RFC 4180 CSV reader fed block by block: quoted fields may hold commas, doubled
/// quotes and newlines; `\r\n` and `\n` both end a record.
struct CSVScanner {
    struct Record {
        var fields: [[UInt8]]
        /// Physical line where the record starts (1-based).
        var line: Int
        /// The record's bytes as they were in the file, for the quarantine report.
        var raw: [UInt8]
        /// Set when the record breaks the quoting rules.
        var error: String?
    }

    private enum State { case fieldStart, unquoted, quoted, quoteInQuoted }
    private var state = State.fieldStart
    private var field: [UInt8] = []
    private var record = Record(fields: [], line: 1, raw: [], error: nil)
    private var line = 1
    private var atStart = true

    mutating func feed(_ block: UnsafeRawBufferPointer, _ onRecord: (Record) throws -> Void) rethrows {
        var i = 0
        if atStart, block.count > 0 {
            atStart = false
            if block.count >= 3, block[0] == 0xEF, block[1] == 0xBB, block[2] == 0xBF { i = 3 }
        }
        while i < block.count {
            let b = block[i]
            i += 1
            if b == 0x0A { line += 1 }
            record.raw.append(b)
            switch state {
            case .fieldStart, .unquoted:
                switch b {
                case UInt8(ascii: ","):
                    endField()
                case 0x0A:
                    try endRecord(onRecord)
                case 0x0D:
                    break  // part of \r\n; a bare \r outside quotes is dropped
                case UInt8(ascii: "\"") where state == .fieldStart:
                    state = .quoted
                default:
                    field.append(b)
                    state = .unquoted
                }
            case .quoted:
                if b == UInt8(ascii: "\"") { state = .quoteInQuoted } else { field.append(b) }
            case .quoteInQuoted:
                switch b {
                case UInt8(ascii: "\""): field.append(b); state = .quoted
                case UInt8(ascii: ","): endField()
                case 0x0A: try endRecord(onRecord)
                case 0x0D: break
                default:
                    if record.error == nil { record.error = "text after a closing quote; quote the whole field and double inner quotes" }
                    field.append(b)
                    state = .unquoted
                }
            }
        }
    }

    mutating func finish(_ onRecord: (Record) throws -> Void) rethrows {
        if state == .quoted {
            record.error = "unterminated quoted field (a quote opened here is never closed)"
        }
        if !record.raw.isEmpty { try endRecord(onRecord) }
    }

    private mutating func endField() {
        record.fields.append(field)
        field.removeAll(keepingCapacity: true)
        state = .fieldStart
    }

    private mutating func endRecord(_ onRecord: (Record) throws -> Void) rethrows {
        endField()
        if record.raw.last == 0x0A { record.raw.removeLast() }
        if record.raw.last == 0x0D { record.raw.removeLast() }
        let done = record
        record = Record(fields: [], line: line, raw: [], error: nil)
        // A blank line is no record.
        if !(done.fields.count == 1 && done.fields[0].isEmpty && done.error == nil) { try onRecord(done) }
    }
}
