import Foundation
import LookbookCore

/// An item as the language model sees it: its slot and its words (the caption when the
/// item has an image, its title otherwise). Nothing that identifies the product.
public struct ItemText: Sendable, Hashable {
    public var slot: Slot
    public var text: String

    public init(slot: Slot, text: String) {
        self.slot = slot
        self.text = text
    }

    /// What an item's text is made of (a model's recipe names it: `StyleLMRecipe.itemText`).
    public enum Format: String, Sendable, Codable, CaseIterable {
        /// The caption a captioner wrote (attribute `caption`), else the title; an item with
        /// neither speaks through its category. Models trained before `kindAndWords`.
        case words
        /// The product's kind (`Product.kindName`: `ankle boots`), then its words:
        /// `ankle boots : black leather lace-up boots`. A look then says which kinds of item
        /// it holds, and the blank learns which kind it calls for.
        case kindAndWords = "kind-and-words"
    }

    /// The item's text in `format`: lower-cased, whitespace collapsed.
    public init(_ product: Product, format: Format) {
        let candidates = [product.attributes["caption"] ?? "", product.title, product.category]
        var words = candidates.first { !$0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty } ?? ""
        if format == .kindAndWords, words != product.category {
            let kind = product.kindName
            if !kind.isEmpty { words = kind + " : " + words }
        }
        self.init(slot: product.slot, text: Self.normalise(words))
    }

    static func normalise(_ text: String) -> String {
        text.lowercased().split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}

/// One training sequence: the tokens, and per token the weight of predicting it from
/// the tokens before it (0 for the prompt, the example's weight for the target).
///
/// An example may also carry a bag of words: at position `bag.position` (the blank's
/// `<slot:…>`), the model learns to predict each of `bag.targets` (distinct tokens), a
/// multi-target cross-entropy in which each target counts `bag.weight / targets.count`.
public struct TrainingExample: Sendable, Equatable {
    public var tokens: [Int32]
    public var weights: [Float]
    public var bag: BagOfWords?

    /// What the blank position learns to predict, all at once.
    public struct BagOfWords: Sendable, Equatable {
        /// Index into `tokens` of the position whose next-token distribution learns the bag.
        public var position: Int
        /// Distinct token ids.
        public var targets: [Int32]
        /// The whole bag's weight, shared evenly by its targets.
        public var weight: Float

        public init(position: Int, targets: [Int32], weight: Float) {
            self.position = position
            self.targets = targets
            self.weight = weight
        }
    }

    public init(tokens: [Int32], weights: [Float], bag: BagOfWords? = nil) {
        precondition(tokens.count == weights.count, "one weight per token")
        precondition(bag.map { tokens.indices.contains($0.position) } ?? true, "the bag's position must be one of the tokens")
        self.tokens = tokens
        self.weights = weights
        self.bag = bag
    }

    /// How many tokens go into the model: every token but the last (nothing reads what
    /// follows it), or up to the bag's position when that is the last.
    var inputCount: Int { max(tokens.count - 1, bag.map { $0.position + 1 } ?? 0) }
}

/// The paper's prompt recipe, in tokens.
///
/// A fill-in-the-blank prompt lists the outfit's other items in the stable slot order,
/// each as `<slot:…>` + its words + `<sep>`, then `<blank>` and the slot of the missing
/// item; the model continues with the missing item's words and `</s>`:
///
///     <s> <slot:top> white cotton shirt <sep> <slot:shoes> black leather loafers <sep> <blank> <slot:bottom> | navy wool trousers </s>
///
/// Pretraining (the "base LLM") sees product text alone: `<s> <slot:…> words </s>`, or in
/// the `.blank` product format `<s> <blank> <slot:…> words </s>`, the prompt of an empty
/// outfit, so base and fine-tuned model share one format.
public struct OutfitPrompts: Sendable {
    public static let pad = "<pad>", begin = "<s>", end = "</s>", separator = "<sep>", blank = "<blank>"
    public static func slotToken(_ slot: Slot) -> String { "<slot:\(slot.rawValue)>" }
    /// Every special token, pad first.
    public static let specialTokens: [String] = [pad, begin, end, separator, blank] + Slot.allCases.map(slotToken)

    public let tokenizer: BPETokenizer
    /// The longest sequence the model takes.
    public let maxLength: Int
    /// Words of one item are cut to this many tokens.
    public let maxItemTokens: Int

    /// How product text alone reads in pretraining (and in `.base` calibration).
    public enum ProductFormat: String, Sendable, Codable, CaseIterable {
        /// `<s> <slot> words </s>`: a format of its own.
        case slot
        /// `<s> <blank> <slot> words </s>`: the blank of an empty outfit, so the base model
        /// already speaks the fine-tuning format and scores a context-free prior in it.
        case blank
    }
    public let productFormat: ProductFormat
    /// What an item's text is made of: the format of the recipe the model was trained with.
    public let itemFormat: ItemText.Format

    let padID: Int32, beginID: Int32, endID: Int32, separatorID: Int32, blankID: Int32
    let slotIDs: [Slot: Int32]

    public init(tokenizer: BPETokenizer, maxLength: Int, maxItemTokens: Int = 24, productFormat: ProductFormat = .slot,
                itemFormat: ItemText.Format = .words) throws {
        func id(_ token: String) throws -> Int32 {
            guard let id = tokenizer.id(ofSpecial: token) else {
                throw LookbookError(.model, "the tokenizer has no special token \(token); train it with OutfitPrompts.specialTokens")
            }
            return id
        }
        self.tokenizer = tokenizer
        self.maxLength = maxLength
        self.maxItemTokens = maxItemTokens
        self.productFormat = productFormat
        self.itemFormat = itemFormat
        padID = try id(Self.pad)
        beginID = try id(Self.begin)
        endID = try id(Self.end)
        separatorID = try id(Self.separator)
        blankID = try id(Self.blank)
        var slots: [Slot: Int32] = [:]
        for slot in Slot.allCases { slots[slot] = try id(Self.slotToken(slot)) }
        slotIDs = slots
    }

    /// A product as this model reads it (`itemFormat`).
    public func item(_ product: Product) -> ItemText { ItemText(product, format: itemFormat) }

    public var padToken: Int32 { padID }
    public var endToken: Int32 { endID }

    /// Trains a tokenizer for the recipe on item words.
    public static func trainTokenizer(on texts: [String], vocabSize: Int) -> BPETokenizer {
        BPETokenizer.train(texts.map(ItemText.normalise), vocabSize: vocabSize, specialTokens: specialTokens)
    }

    /// An item's words, cut to `limit` tokens.
    public func words(_ text: String, limit: Int? = nil) -> [Int32] {
        Array(tokenizer.encode(text).prefix(limit ?? maxItemTokens))
    }

    /// The items in prompt order: by slot, then by words, so the same outfit always
    /// reads the same way whatever order its items were listed in.
    public static func ordered(_ items: [ItemText]) -> [ItemText] {
        items.sorted { ($0.slot.order, $0.text) < ($1.slot.order, $1.text) }
    }

    /// The fill-in-the-blank prompt: context items, `<blank>`, the missing slot. When the
    /// items do not fit, each item's words are cut shorter (evenly), never dropped.
    public func prompt(context: [ItemText], blank: Slot) -> [Int32] {
        let items = Self.ordered(context)
        // <s> + per item (slot, words, sep) + <blank> <slot> + room for the answer.
        let fixed = 1 + 2 * items.count + 2 + maxItemTokens + 1
        let perItem = items.isEmpty ? maxItemTokens : max(1, min(maxItemTokens, (maxLength - fixed) / items.count))
        var tokens: [Int32] = [beginID]
        for item in items {
            tokens.append(slotIDs[item.slot]!)
            tokens += words(item.text, limit: perItem)
            tokens.append(separatorID)
        }
        tokens += [blankID, slotIDs[blank]!]
        return tokens
    }

    /// What the model continues a prompt with for a candidate: its words and `</s>`.
    public func continuation(_ text: String) -> [Int32] {
        words(text) + [endID]
    }

    /// Every leave-one-out of an outfit: each item in turn is the blank, the others the
    /// context; the loss is on the missing item's words and `</s>`, weighted by `weight`.
    ///
    /// `sequence` and `bag` weigh the two ways of learning the missing item: its words in
    /// order after the prompt (per token, × `weight`), and the bag of its distinct tokens
    /// at the blank (`<slot:…>`) position (the whole bag × `weight`, see
    /// `TrainingExample.BagOfWords`). With `sequence` 0 the example is the prompt alone.
    public func fillInTheBlankExamples(outfit: [ItemText], weight: Float = 1, sequence: Float = 1, bag: Float = 0) -> [TrainingExample] {
        guard outfit.count >= 2 else { return [] }
        return outfit.indices.map { i in
            var context = outfit
            let target = context.remove(at: i)
            return blankExample(context: context, target: target, weight: weight, sequence: sequence, bag: bag)
        }
    }

    /// `target` as the blank of `context`, learnt as `fillInTheBlankExamples` says.
    public func blankExample(context: [ItemText], target: ItemText, weight: Float, sequence: Float = 1, bag: Float = 0) -> TrainingExample {
        let prompt = prompt(context: context, blank: target.slot)
        let result: TrainingExample
        let answerCount: Int
        if sequence > 0 {
            let answer = continuation(target.text)
            result = example(prompt: prompt, answer: answer, weight: weight * sequence)
            answerCount = answer.count
        } else {
            result = TrainingExample(tokens: prompt, weights: [Float](repeating: 0, count: prompt.count))
            answerCount = 0
        }
        return withBag(result, of: target.text, answerCount: answerCount, weight: weight * bag)
    }

    /// `example` with the bag of `text`'s distinct tokens at its prompt's last position
    /// (the `<slot:…>` before the `answerCount` answer tokens), weighted `weight`; as it
    /// is when `weight` is 0 or the text has no tokens.
    func withBag(_ example: TrainingExample, of text: String, answerCount: Int, weight: Float) -> TrainingExample {
        let targets = bagOfWords(text)
        guard weight > 0, !targets.isEmpty else { return example }
        var result = example
        result.bag = .init(position: example.tokens.count - answerCount - 1, targets: targets, weight: weight)
        return result
    }

    /// The distinct tokens of an item's words (cut to `maxItemTokens` as in a
    /// continuation), in order of first use: what the blank position predicts in
    /// bag-of-words training and scoring.
    public func bagOfWords(_ text: String) -> [Int32] {
        var seen = Set<Int32>()
        return words(text).filter { seen.insert($0).inserted }
    }

    /// Product text alone, for the base model: `productPrompt` + words + `</s>`, loss on
    /// the words and `</s>`.
    public func pretrainingExample(_ item: ItemText) -> TrainingExample {
        pretrainingExample(item, bag: 0)
    }

    /// The same, and with `bag` > 0 also the bag of its distinct tokens at the prompt's
    /// `<slot:…>`, weighted `bag`.
    public func pretrainingExample(_ item: ItemText, bag: Float) -> TrainingExample {
        let answer = continuation(item.text)
        return withBag(example(prompt: productPrompt(item.slot), answer: answer, weight: 1), of: item.text,
                       answerCount: answer.count, weight: bag)
    }

    /// What precedes a product's words in pretraining: `<s> <slot>`, or `<s> <blank> <slot>`
    /// (the fill-in-the-blank prompt of an empty outfit) in the `.blank` format.
    public func productPrompt(_ slot: Slot) -> [Int32] {
        switch productFormat {
        case .slot: [beginID, slotIDs[slot]!]
        case .blank: prompt(context: [], blank: slot)
        }
    }

    /// Every item of an outfit as the blank of an empty outfit (`<s> <blank> <slot>` +
    /// words + `</s>`): fine-tuning keeps the model's context-free prior in its own
    /// format, which `.contextFree` calibration subtracts.
    public func contextFreeExamples(outfit: [ItemText], weight: Float = 1) -> [TrainingExample] {
        guard outfit.count >= 2 else { return [] }
        return outfit.map { example(prompt: prompt(context: [], blank: $0.slot), answer: continuation($0.text), weight: weight) }
    }

    func example(prompt: [Int32], answer: [Int32], weight: Float) -> TrainingExample {
        var tokens = prompt + answer
        var weights = [Float](repeating: 0, count: prompt.count) + [Float](repeating: weight, count: answer.count)
        if tokens.count > maxLength {  // only an absurd maxItemTokens gets here; keep the answer
            let cut = tokens.count - maxLength
            tokens.removeSubrange(1..<(1 + cut))
            weights.removeSubrange(1..<(1 + cut))
        }
        return TrainingExample(tokens: tokens, weights: weights)
    }
}
