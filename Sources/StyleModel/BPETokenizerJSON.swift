import Foundation

/// Why a tokenizer.json cannot be read or written. `message` says what to fix.
public struct BPETokenizerError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// Not JSON, or not the Hugging Face tokenizer.json layout.
        case malformed = "malformed-tokenizer-json"
        /// Valid tokenizer.json for a kind of tokenizer this type does not implement.
        case unsupported = "unsupported-tokenizer"
        /// The vocabulary or merges contradict each other.
        case inconsistent = "inconsistent-tokenizer"
    }

    public var code: Code
    public var message: String
    /// The JSON parser's own message, if any.
    public var underlying: String?

    public init(_ code: Code, _ message: String, underlying: String? = nil) {
        self.code = code; self.message = message; self.underlying = underlying
    }

    public var description: String {
        if let underlying { return "tokenizer.json: \(message) (\(underlying))" }
        return "tokenizer.json: \(message)"
    }
}

extension BPETokenizer {
    /// A Hugging Face `tokenizers` tokenizer.json: a "BPE" model with `vocab` (byte-level
    /// spellings → ids, specials included) and `merges` ("left right" strings, rank order),
    /// `ByteLevel` pre-tokenizer and decoder, and the specials as `added_tokens`.
    /// The output is deterministic: vocab in id order, keys in a fixed order.
    /// Throws when a special token is spelled like an ordinary token (a one-byte special
    /// such as "a"), because the file's single `vocab` map could not hold both.
    public func jsonData() throws -> Data {
        var spellings = Set<String>()
        for id in tokens.indices {
            let spelling = token(Int32(id))!
            if !spellings.insert(spelling).inserted {
                throw BPETokenizerError(.inconsistent, "token \(id) is spelled \(jsonQuoted(spelling)) like another token; a tokenizer.json vocab cannot hold both — choose special tokens that are not ordinary text, such as <pad>")
            }
        }
        var out = "{\n  \"version\": \"1.0\",\n  \"truncation\": null,\n  \"padding\": null,\n  \"added_tokens\": ["
        let specialList = specialTokens.map { s in
            "\n    {\"id\": \(specialIDs[s]!), \"content\": \(jsonQuoted(s)), \"single_word\": false, \"lstrip\": false, \"rstrip\": false, \"normalized\": false, \"special\": true}"
        }
        out += specialList.joined(separator: ",") + (specialList.isEmpty ? "],\n" : "\n  ],\n")
        out += "  \"normalizer\": null,\n"
        out += "  \"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true},\n"
        out += "  \"post_processor\": null,\n"
        out += "  \"decoder\": {\"type\": \"ByteLevel\", \"add_prefix_space\": true, \"trim_offsets\": true, \"use_regex\": true},\n"
        out += "  \"model\": {\n    \"type\": \"BPE\",\n    \"dropout\": null,\n    \"unk_token\": null,\n"
        out += "    \"continuing_subword_prefix\": null,\n    \"end_of_word_suffix\": null,\n"
        out += "    \"fuse_unk\": false,\n    \"byte_fallback\": false,\n    \"ignore_merges\": false,\n"
        out += "    \"vocab\": {"
        out += tokens.indices.map { "\n      \(jsonQuoted(token(Int32($0))!)): \($0)" }.joined(separator: ",")
        out += "\n    },\n    \"merges\": ["
        out += merges.map { "\n      " + jsonQuoted(token($0.left)! + " " + token($0.right)!) }.joined(separator: ",")
        out += merges.isEmpty ? "]\n  }\n}\n" : "\n    ]\n  }\n}\n"
        return Data(out.utf8)
    }

    /// Reads a tokenizer.json written by `jsonData()` or by Python's `tokenizers` for a
    /// byte-level BPE (GPT-2, RoBERTa and the like). Ids are kept as in the file; they
    /// must be `0..<n` without gaps, every byte must have a token, and every merge must
    /// join two tokens into a third. Merges may be "left right" strings or [left, right]
    /// pairs. Added tokens must be special (`"special": true`).
    public init(json: Data) throws {
        let root: Any
        do {
            root = try JSONSerialization.jsonObject(with: json)
        } catch {
            throw BPETokenizerError(.malformed, "not valid JSON; expected a Hugging Face tokenizer.json", underlying: "\(error)")
        }
        guard let top = root as? [String: Any] else {
            throw BPETokenizerError(.malformed, "the top level must be an object with a \"model\" key")
        }
        guard let model = top["model"] as? [String: Any] else {
            throw BPETokenizerError(.malformed, "missing the \"model\" object")
        }
        guard let type = model["type"] as? String else {
            throw BPETokenizerError(.malformed, "model.type is missing; expected \"BPE\"")
        }
        guard type == "BPE" else {
            throw BPETokenizerError(.unsupported, "model.type is \(jsonQuoted(type)); only \"BPE\" is supported")
        }
        if let pre = top["pre_tokenizer"] as? [String: Any] {
            guard pre["type"] as? String == "ByteLevel" else {
                throw BPETokenizerError(.unsupported, "pre_tokenizer.type is \(jsonQuoted("\(pre["type"] ?? "none")")); only a ByteLevel pre-tokenizer is supported")
            }
            if pre["add_prefix_space"] as? Bool == true {
                throw BPETokenizerError(.unsupported, "pre_tokenizer.add_prefix_space is true; only false is supported")
            }
        } else if !(top["pre_tokenizer"] is NSNull) && top["pre_tokenizer"] != nil {
            throw BPETokenizerError(.malformed, "pre_tokenizer must be an object")
        }
        if let normalizer = top["normalizer"], !(normalizer is NSNull) {
            throw BPETokenizerError(.unsupported, "a normalizer is set; this tokenizer keeps text as it is, so normalizer must be null")
        }
        guard let vocab = model["vocab"] as? [String: Any] else {
            throw BPETokenizerError(.malformed, "model.vocab must be an object mapping token → id")
        }

        // Specials.
        var specials: [(id: Int, content: String)] = []
        if let added = top["added_tokens"], !(added is NSNull) {
            guard let list = added as? [Any] else { throw BPETokenizerError(.malformed, "added_tokens must be an array") }
            for (i, item) in list.enumerated() {
                guard let t = item as? [String: Any], let content = t["content"] as? String, let id = intValue(t["id"]) else {
                    throw BPETokenizerError(.malformed, "added_tokens[\(i)] needs \"id\" (integer) and \"content\" (string)")
                }
                guard t["special"] as? Bool ?? false else {
                    throw BPETokenizerError(.unsupported, "added_tokens[\(i)] \(jsonQuoted(content)) is not special; only special added tokens are supported")
                }
                specials.append((id, content))
            }
        }
        let specialByID = Dictionary(specials.map { ($0.id, $0.content) }, uniquingKeysWith: { a, _ in a })
        guard specialByID.count == specials.count, Set(specials.map(\.content)).count == specials.count else {
            throw BPETokenizerError(.inconsistent, "added_tokens repeats an id or a content")
        }

        // Vocabulary: ids 0..<n, each once.
        var byID: [String?] = Array(repeating: nil, count: vocab.count)
        for (spelling, value) in vocab {
            guard let id = intValue(value) else {
                throw BPETokenizerError(.malformed, "model.vocab[\(jsonQuoted(spelling))] must be an integer id")
            }
            guard id >= 0, id < vocab.count, id < Int(Int32.max) else {
                throw BPETokenizerError(.inconsistent, "model.vocab[\(jsonQuoted(spelling))] = \(id): ids must be 0..<\(vocab.count) without gaps")
            }
            guard byID[id] == nil else {
                throw BPETokenizerError(.inconsistent, "model.vocab gives id \(id) to both \(jsonQuoted(byID[id]!)) and \(jsonQuoted(spelling))")
            }
            byID[id] = spelling
        }
        // A special that is not in model.vocab takes the next id, as in Python's tokenizers.
        var tokens: [Token] = []
        var idOfSpelling: [String: Int32] = [:]
        var byteIDs = [Int32](repeating: -1, count: 256)
        var all = byID.map { $0! }
        for s in specials where vocab[s.content] == nil {
            guard s.id == all.count else {
                throw BPETokenizerError(.inconsistent, "added token \(jsonQuoted(s.content)) has id \(s.id) but is not in model.vocab; expected id \(all.count)")
            }
            all.append(s.content)
        }
        for (id, spelling) in all.enumerated() {
            idOfSpelling[spelling] = Int32(id)
            if let special = specialByID[id] {
                guard special == spelling else {
                    throw BPETokenizerError(.inconsistent, "added token \(jsonQuoted(special)) has id \(id) but model.vocab gives that id to \(jsonQuoted(spelling))")
                }
                tokens.append(.special(special))
                continue
            }
            guard let bytes = ByteLevel.bytes(spelling), !bytes.isEmpty else {
                throw BPETokenizerError(.unsupported, "model.vocab entry \(jsonQuoted(spelling)) (id \(id)) is not a byte-level token; only byte-level BPE (GPT-2 alphabet) is supported")
            }
            if bytes.count == 1 { byteIDs[Int(bytes[0])] = Int32(id) }
            tokens.append(.bytes(bytes))
        }
        if let missing = byteIDs.firstIndex(of: -1) {
            throw BPETokenizerError(.inconsistent, "model.vocab has no token for byte 0x\(String(missing, radix: 16)) (\(jsonQuoted(ByteLevel.string([UInt8(missing)])))); a byte-level vocab needs all 256")
        }

        // Merges.
        guard let mergeList = model["merges"] as? [Any] else {
            throw BPETokenizerError(.malformed, "model.merges must be an array")
        }
        var merges: [Merge] = []
        merges.reserveCapacity(mergeList.count)
        for (rank, item) in mergeList.enumerated() {
            let parts: [String]
            if let s = item as? String {
                parts = s.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
            } else if let pair = item as? [Any], let strings = pair as? [String] {
                parts = strings
            } else {
                throw BPETokenizerError(.malformed, "model.merges[\(rank)] must be a \"left right\" string or a [left, right] pair")
            }
            guard parts.count == 2 else {
                throw BPETokenizerError(.malformed, "model.merges[\(rank)] must name exactly two tokens, got \(parts.count)")
            }
            guard let l = idOfSpelling[parts[0]], let r = idOfSpelling[parts[1]], let m = idOfSpelling[parts[0] + parts[1]] else {
                throw BPETokenizerError(.inconsistent, "model.merges[\(rank)] \(jsonQuoted(parts.joined(separator: " "))) names a token missing from model.vocab")
            }
            for id in [l, r, m] where specialByID[Int(id)] != nil {
                throw BPETokenizerError(.inconsistent, "model.merges[\(rank)] involves the special token \(jsonQuoted(all[Int(id)]))")
            }
            merges.append(Merge(left: l, right: r, result: m))
        }
        let specialOrder = specials.sorted { $0.id < $1.id }.map(\.content)
        self.init(tokens: tokens, merges: merges, specialTokens: specialOrder, byteIDs: byteIDs)
    }
}

private func intValue(_ any: Any?) -> Int? {
    // `true` bridges to 1 through `as? Int`; JSONSerialization gives booleans their own class.
    guard let n = any as? NSNumber, type(of: n) != type(of: NSNumber(value: true)) else { return nil }
    let d = n.doubleValue
    guard d == d.rounded(), abs(d) < 1e15 else { return nil }
    return n.intValue
}

/// `s` as a JSON string literal.
func jsonQuoted(_ s: String) -> String { SafeTensors.jsonString(s) }
