import Foundation
import LookbookCore
import Testing
@testable import StyleModel

/// The JSON Lines of `TrainingDataExport` parse as the formats TRL, Axolotl and
/// LLaMA-Factory read, and give back the looks they were written from.
@Suite struct DPOExportTests {
    static let outfit = [ItemText(slot: .shoes, text: "black leather loafers"), ItemText(slot: .top, text: "white cotton shirt"),
                         ItemText(slot: .bottom, text: "navy wool trousers")]

    static func object(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test func promptIsWordsInSlotOrder() {
        let prompt = TrainingDataExport.prompt(context: Array(Self.outfit.prefix(2)), slot: .bottom)
        #expect(prompt == "Outfit: top: white cotton shirt; shoes: black leather loafers. Missing bottom:")
        #expect(TrainingDataExport.answer(Self.outfit[2]) == " navy wool trousers")
    }

    @Test func sftMessagesRoundTrip() throws {
        let lines = try TrainingDataExport.sftMessages(outfits: [Self.outfit, [Self.outfit[0]]])
        #expect(lines.count == 3)  // one outfit of three; a lone item makes no example
        for (line, target) in zip(lines, Self.outfit) {
            #expect(!line.contains("\n"))
            let json = try Self.object(line)
            #expect(Array(json.keys) == ["messages"])
            let decoded = try JSONDecoder().decode(TrainingDataExport.Conversation.self, from: Data(line.utf8))
            #expect(decoded.messages.map(\.role) == ["user", "assistant"])
            let (context, slot) = try #require(TrainingDataExport.parse(prompt: decoded.messages[0].content))
            #expect(slot == target.slot)
            #expect(Set(context) == Set(Self.outfit.filter { $0 != target }))
            #expect(decoded.messages[1].content == " " + target.text)
        }
    }

    @Test func promptCompletionRoundTrip() throws {
        let lines = try TrainingDataExport.sftCompletions(outfits: [Self.outfit])
        #expect(lines.count == 3)
        for (line, target) in zip(lines, Self.outfit) {
            #expect(Set(try Self.object(line).keys) == ["prompt", "completion"])
            let decoded = try JSONDecoder().decode(TrainingDataExport.Completion.self, from: Data(line.utf8))
            #expect(TrainingDataExport.parse(prompt: decoded.prompt)?.slot == target.slot)
            #expect(decoded.completion == " " + target.text)
        }
    }

    @Test func dpoLinesRoundTripToThePairs() throws {
        let corpus = ToyOutfits.corpus(outfits: 10)
        let pairs = PreferencePairs.curated(outfits: corpus.outfits.map(\.items), pool: PreferencePairs.Pool(corpus.items), seed: 5)
        let lines = try TrainingDataExport.dpo(pairs)
        #expect(lines.count == pairs.count)
        for (line, pair) in zip(lines, pairs) {
            #expect(Set(try Self.object(line).keys) == ["prompt", "chosen", "rejected"])
            let decoded = try JSONDecoder().decode(TrainingDataExport.Preference.self, from: Data(line.utf8))
            let (context, slot) = try #require(TrainingDataExport.parse(prompt: decoded.prompt))
            #expect(OutfitPrompts.ordered(context) == OutfitPrompts.ordered(pair.context) && slot == pair.slot)
            #expect(decoded.chosen == " " + pair.chosen.text && decoded.rejected == " " + pair.rejected.text)
        }
    }

    /// Punctuation that would break the prompt's structure is replaced; quotes and
    /// backslashes are JSON-escaped and come back intact.
    @Test func awkwardWordsStayParseable() throws {
        let item = ItemText(slot: .top, text: "the \"best\" shirt; 100% cotton. c:\\ edition")
        let line = try TrainingDataExport.dpo([PreferencePair(context: [item], slot: .shoes, chosen: ItemText(slot: .shoes, text: "a"),
                                                              rejected: ItemText(slot: .shoes, text: "b"), source: .random)])[0]
        let decoded = try JSONDecoder().decode(TrainingDataExport.Preference.self, from: Data(line.utf8))
        let (context, slot) = try #require(TrainingDataExport.parse(prompt: decoded.prompt))
        #expect(slot == .shoes)
        #expect(context == [ItemText(slot: .top, text: "the \"best\" shirt, 100% cotton, c:\\ edition")])
        #expect(TrainingDataExport.parse(prompt: "Outfit: cape: x. Missing shoes:") == nil)  // no such slot
    }

    @Test func writesThreeFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("export-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try TrainingDataExport.write(outfits: [Self.outfit], pairs: [], to: dir)
        #expect(files.map(\.lastPathComponent) == ["sft_messages.jsonl", "sft_completions.jsonl", "dpo.jsonl"])
        let text = try String(contentsOf: files[0], encoding: .utf8)
        #expect(text.split(separator: "\n").count == 3)
        #expect(try String(contentsOf: files[2], encoding: .utf8).isEmpty)
    }
}
