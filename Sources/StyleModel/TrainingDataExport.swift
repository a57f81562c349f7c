import Foundation
import LookbookCore

/// Lookbook's training data as the JSON Lines that mainstream GPU tooling reads (TRL,
/// Axolotl, LLaMA-Factory), so a retailer can tune a larger model on the same signal:
///
/// - SFT, conversational: `{"messages": [{"role": "user", "content": PROMPT}, {"role": "assistant", "content": ANSWER}]}`
/// - SFT, prompt–completion: `{"prompt": PROMPT, "completion": ANSWER}`
/// - DPO: `{"prompt": PROMPT, "chosen": ANSWER, "rejected": ANSWER}`
///
/// Prompts are words, not token ids: `Outfit: top: white cotton shirt; shoes: black
/// loafers. Missing bottom:`; an answer is the missing item's words with a leading space.
public enum TrainingDataExport {
    public struct Message: Codable, Sendable, Equatable {
        public var role: String
        public var content: String
    }
    public struct Conversation: Codable, Sendable, Equatable { public var messages: [Message] }
    public struct Completion: Codable, Sendable, Equatable { public var prompt: String; public var completion: String }
    public struct Preference: Codable, Sendable, Equatable { public var prompt: String; public var chosen: String; public var rejected: String }

    /// The fill-in-the-blank prompt in words, the context in the recipe's stable order.
    /// Item words are normalised (lower-case, single spaces); `;` and `.` inside them
    /// become `,` so the prompt stays parseable.
    public static func prompt(context: [ItemText], slot: Slot) -> String {
        let items = OutfitPrompts.ordered(context).map { "\($0.slot.rawValue): \(clean($0.text))" }
        return "Outfit: " + items.joined(separator: "; ") + ". Missing \(slot.rawValue):"
    }

    public static func answer(_ item: ItemText) -> String { " " + clean(item.text) }

    static func clean(_ text: String) -> String {
        ItemText.normalise(text.replacingOccurrences(of: ";", with: ",").replacingOccurrences(of: ".", with: ","))
    }

    /// Reads a prompt written by `prompt(context:slot:)` back; nil when it is not one.
    public static func parse(prompt: String) -> (context: [ItemText], slot: Slot)? {
        guard prompt.hasPrefix("Outfit: "), prompt.hasSuffix(":"), let missing = prompt.range(of: ". Missing ", options: .backwards) else { return nil }
        guard let slot = Slot(rawValue: String(prompt[missing.upperBound...].dropLast())) else { return nil }
        let body = prompt[prompt.index(prompt.startIndex, offsetBy: 8)..<missing.lowerBound]
        var context: [ItemText] = []
        for part in body.components(separatedBy: "; ") where !part.isEmpty {
            guard let colon = part.range(of: ": "), let s = Slot(rawValue: String(part[..<colon.lowerBound])) else { return nil }
            context.append(ItemText(slot: s, text: String(part[colon.upperBound...])))
        }
        return (context, slot)
    }

    /// One line per leave-one-out of every outfit, conversational.
    public static func sftMessages(outfits: [[ItemText]]) throws -> [String] {
        try leaveOneOuts(outfits).map { context, target in
            try line(Conversation(messages: [Message(role: "user", content: prompt(context: context, slot: target.slot)),
                                             Message(role: "assistant", content: answer(target))]))
        }
    }

    /// One line per leave-one-out of every outfit, prompt–completion.
    public static func sftCompletions(outfits: [[ItemText]]) throws -> [String] {
        try leaveOneOuts(outfits).map { context, target in
            try line(Completion(prompt: prompt(context: context, slot: target.slot), completion: answer(target)))
        }
    }

    /// One line per preference pair.
    public static func dpo(_ pairs: [PreferencePair]) throws -> [String] {
        try pairs.map { try line(Preference(prompt: prompt(context: $0.context, slot: $0.slot), chosen: answer($0.chosen), rejected: answer($0.rejected))) }
    }

    /// Writes `sft_messages.jsonl`, `sft_completions.jsonl` and `dpo.jsonl` into `directory`.
    public static func write(outfits: [[ItemText]], pairs: [PreferencePair], to directory: URL) throws -> [URL] {
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            var written: [URL] = []
            for (name, lines) in [("sft_messages.jsonl", try sftMessages(outfits: outfits)),
                                  ("sft_completions.jsonl", try sftCompletions(outfits: outfits)),
                                  ("dpo.jsonl", try dpo(pairs))] {
                let url = directory.appendingPathComponent(name)
                try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: url, options: .atomic)
                written.append(url)
            }
            return written
        } catch {
            throw LookbookError(.io, "cannot write training data to \(directory.path); check the directory is writable", underlying: "\(error)")
        }
    }

    static func leaveOneOuts(_ outfits: [[ItemText]]) -> [([ItemText], ItemText)] {
        outfits.filter { $0.count >= 2 }.flatMap { outfit in
            outfit.indices.map { i in
                var context = outfit
                let target = context.remove(at: i)
                return (context, target)
            }
        }
    }

    static func line(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
