import Imaging
import LookbookCore
import Testing

@Test func dictionaryNamesAreUniqueAndLowerCase() {
    let names = ColorDictionary.all.map(\.name)
    #expect(Set(names).count == names.count)
    #expect(names.allSatisfy { $0 == $0.lowercased() })
    #expect((40...80).contains(names.count))
}

@Test(arguments: ColorFamily.allCases)
func everyFamilyHasANameCalledLikeIt(_ family: ColorFamily) {
    #expect(ColorDictionary.named(family.rawValue)?.family == family)
}

@Test(arguments: ColorDictionary.all.map(\.name))
func everyAnchorIsItsOwnNearestName(_ name: String) {
    let entry = ColorDictionary.named(name)!
    #expect(ColorDictionary.nearest(entry.lab).color.name == name)
}

struct PhotographedColor: Sendable, CustomTestStringConvertible {
    var rgb: RGBA
    var family: ColorFamily
    var testDescription: String { "(\(rgb.r), \(rgb.g), \(rgb.b)) is \(family)" }
}

/// Colours as studio photos show cloth: black is a dark grey, white a light grey.
@Test(arguments: [
    PhotographedColor(rgb: RGBA(45, 45, 47), family: .black),
    PhotographedColor(rgb: RGBA(128, 128, 128), family: .grey),
    PhotographedColor(rgb: RGBA(225, 226, 228), family: .white),
    PhotographedColor(rgb: RGBA(30, 40, 90), family: .blue),
    PhotographedColor(rgb: RGBA(200, 30, 40), family: .red),
    PhotographedColor(rgb: RGBA(110, 20, 35), family: .red),
    PhotographedColor(rgb: RGBA(240, 130, 30), family: .orange),
    PhotographedColor(rgb: RGBA(245, 210, 50), family: .yellow),
    PhotographedColor(rgb: RGBA(40, 140, 70), family: .green),
    PhotographedColor(rgb: RGBA(110, 50, 140), family: .purple),
    PhotographedColor(rgb: RGBA(240, 130, 170), family: .pink),
    PhotographedColor(rgb: RGBA(110, 70, 40), family: .brown),
    PhotographedColor(rgb: RGBA(222, 204, 170), family: .brown),
])
func photographedColoursGetTheirFamily(_ c: PhotographedColor) {
    #expect(ColorDictionary.name(forPhotographed: ColorScience.lab(c.rgb)).family == c.family)
}
