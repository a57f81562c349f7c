import Testing
@testable import StyleModel

@Suite struct StyleModelInfoTests {
    @Test func formatVersionIsPositive() { #expect(StyleModelInfo.formatVersion >= 1) }
}
