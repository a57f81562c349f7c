import Foundation
import LookbookCore

/// Why a row was set aside: a stable code and a reason that says what to fix.
struct RowProblem: Error {
    var code: String
    var reason: String
}

/// Turns parsed rows (JSON objects, or CSV records mapped to the same shape) into
/// domain values, checking types and required fields (catalog format v1).
enum RowDecoder {
    typealias Object = JSONScanner.Fields

    static func product(_ o: Object) throws(RowProblem) -> Product {
        let id = try requiredString(o, "id")
        guard Product.isValidID(id) else {
            throw RowProblem(code: IngestCode.badID, reason: "id \"\(id.prefix(140))\" is not 1–128 characters of A-Za-z0-9._:-")
        }
        let title = try requiredString(o, "title")
        guard !title.allSatisfy(\.isWhitespace) else {
            throw RowProblem(code: IngestCode.missingField, reason: "title is empty; give every product a title")
        }
        let category = try requiredString(o, "category")
        var p = Product(id: id, title: title, category: category)
        p.description = try optionalString(o, "description")
        p.brand = try optionalString(o, "brand")
        p.color = try optionalString(o, "color")
        p.gender = try optionalString(o, "gender")
        p.currency = try optionalString(o, "currency")
        p.url = try optionalString(o, "url")
        p.updatedAt = try optionalString(o, "updated_at")
        switch o["price"] {
        case nil, .null?: break
        case .number(let d, _)?:
            guard d >= 0 else { throw RowProblem(code: IngestCode.badValue, reason: "price is negative (\(d))") }
            p.price = d
        case let v?: throw wrongType("price", "a number", v)
        }
        switch o["in_stock"] {
        case nil, .null?: break
        case .bool(let b)?: p.inStock = b
        case let v?: throw wrongType("in_stock", "true or false", v)
        }
        switch o["images"] {
        case nil, .null?: break
        case .array(let a)?:
            var images: [String] = []
            for v in a {
                guard case .string(let s) = v else { throw wrongType("images", "an array of strings", v) }
                images.append(s)
            }
            p.images = images
        case let v?: throw wrongType("images", "an array of strings", v)
        }
        switch o["attributes"] {
        case nil, .null?: break
        case .object(let m)?:
            var attributes: [String: String] = [:]
            for (k, v) in m {
                switch v {
                case .string(let s): attributes[k] = s
                case .number(let d, let integral): attributes[k] = integral && abs(d) < 1e15 ? String(Int(d)) : String(d)
                case .bool(let b): attributes[k] = b ? "true" : "false"
                case .null: continue
                default: throw wrongType("attributes.\(k)", "a string", v)
                }
            }
            p.attributes = attributes
        case let v?: throw wrongType("attributes", "an object of strings", v)
        }
        return p
    }

    static func outfit(_ o: Object) throws(RowProblem) -> Outfit {
        let id = try requiredString(o, "id")
        guard !id.isEmpty else { throw RowProblem(code: IngestCode.missingField, reason: "outfit id is empty") }
        guard let itemsValue = o["items"], itemsValue != .null else {
            throw RowProblem(code: IngestCode.missingField, reason: "required field \"items\" is missing; list 2 or more product ids")
        }
        guard case .array(let a) = itemsValue else { throw wrongType("items", "an array of product ids", itemsValue) }
        var items: [String] = []
        for v in a {
            guard case .string(let s) = v else { throw wrongType("items", "an array of product ids", v) }
            items.append(s)
        }
        var outfit = Outfit(id: id, items: items)
        outfit.name = try optionalString(o, "name")
        outfit.source = try optionalString(o, "source")
        switch o["likes"] {
        case nil, .null?: break
        case .number(let d, true)? where abs(d) < 1e15: outfit.likes = Int(d)
        case let v?: throw wrongType("likes", "an integer", v)
        }
        return outfit
    }

    static func feedback(_ o: Object) throws(RowProblem) -> Feedback {
        let anchor = try requiredString(o, "anchor")
        let item = try requiredString(o, "item")
        let verdictText = try requiredString(o, "verdict")
        guard let verdict = Feedback.Verdict(rawValue: verdictText) else {
            throw RowProblem(code: IngestCode.badVerdict, reason: "verdict \"\(verdictText.prefix(40))\" must be \"approve\" or \"reject\"")
        }
        return Feedback(anchor: anchor, item: item, verdict: verdict,
                        slot: try optionalString(o, "slot"), at: try optionalString(o, "at"))
    }

    // MARK: - CSV

    /// Maps a CSV record to the JSON shape of a product row: `price` a number,
    /// `in_stock` true/false/1/0/yes/no, `images` split on `|`, `attributes` a JSON
    /// object. Empty cells are absent fields.
    static func csvProductObject(header: [String], fields: [[UInt8]]) throws(RowProblem) -> Object {
        guard fields.count == header.count else {
            throw RowProblem(code: IngestCode.badCSV, reason: "row has \(fields.count) fields, the header has \(header.count); quote fields that contain commas")
        }
        var o = Object()
        for (name, bytes) in zip(header, fields) where !bytes.isEmpty {
            let text = String(decoding: bytes, as: UTF8.self)
            switch name {
            case "price":
                guard let d = Double(text.trimmingCharacters(in: .whitespaces)), d.isFinite else {
                    throw RowProblem(code: IngestCode.wrongType, reason: "price \"\(text.prefix(40))\" is not a number")
                }
                o[name] = .number(d, integral: d.rounded() == d)
            case "in_stock":
                switch text.trimmingCharacters(in: .whitespaces).lowercased() {
                case "true", "1", "yes": o[name] = .bool(true)
                case "false", "0", "no": o[name] = .bool(false)
                default: throw RowProblem(code: IngestCode.wrongType, reason: "in_stock \"\(text.prefix(40))\" must be true/false, 1/0 or yes/no")
                }
            case "images":
                o[name] = .array(text.split(separator: "|").map { .string($0.trimmingCharacters(in: .whitespaces)) }
                    .filter { $0 != .string("") })
            case "attributes":
                let parsed: JSONValue
                do { parsed = try JSONScanner.parse(bytes) } catch {
                    throw RowProblem(code: IngestCode.wrongType, reason: "attributes is not a JSON object: \(error.message) at byte \(error.offset + 1)")
                }
                o[name] = parsed
            default:
                o[name] = .string(text)
            }
        }
        return o
    }

    // MARK: - Fields

    private static func requiredString(_ o: Object, _ key: String) throws(RowProblem) -> String {
        switch o[key] {
        case nil, .null?:
            throw RowProblem(code: IngestCode.missingField, reason: "required field \"\(key)\" is missing")
        case .string(let s)?: return s
        case let v?: throw wrongType(key, "a string", v)
        }
    }

    private static func optionalString(_ o: Object, _ key: String) throws(RowProblem) -> String? {
        switch o[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let v?: throw wrongType(key, "a string", v)
        }
    }

    private static func wrongType(_ key: String, _ expected: String, _ got: JSONValue) -> RowProblem {
        RowProblem(code: IngestCode.wrongType, reason: "\"\(key)\" must be \(expected), not \(got.typeName)")
    }
}
