import LookbookCore
import Testing
@testable import Captioning

@Test(arguments: [
    ("Navy Striped Cotton Casual Shirt", "cotton", "casual", "striped", "navy", "shirt"),
    ("Black Leather Ankle Boots", "leather", nil, nil, "black", "boots"),
    ("Men Grey Printed Round Neck T-Shirt", nil, nil, "printed", "grey", "t-shirt"),
    ("白色纯棉条纹休闲衬衫", "cotton", "casual", "striped", "white", "shirt"),
    ("蓝色牛仔裤", "denim", nil, nil, "blue", "jeans"),
    ("Floral Chiffon Boho Maxi Dress", "chiffon", "boho", "floral", nil, "dress"),
] as [(String, String?, String?, String?, String?, String?)])
func readsAttributesFromTitles(title: String, material: String?, style: String?, pattern: String?, color: String?, type: String?) {
    let found = TextAttributes.read(Product(id: "x", title: title, category: ""))
    #expect(found.material == material)
    #expect(found.style == style)
    #expect(found.pattern == pattern)
    #expect(found.color == color)
    #expect(found.type == type)
}

@Test func retailerAttributesWinOverFreeText() {
    let p = Product(id: "x", title: "Linen Shirt", category: "Tops", attributes: ["material": "Silk"])
    #expect(TextAttributes.read(p).material == "silk")
}

@Test func wordsMatchWholeWordsOnly() {
    // "capri" must not match "cap", "ring" must not match "earrings" as ring.
    let p = Product(id: "x", title: "Capri Earrings", category: "Jewellery")
    #expect(TextAttributes.read(p).type == "earrings")
}

@Test func captionFollowsThePapersOrderAndSkipsSolid() {
    #expect(captionText(color: "navy", pattern: "striped", material: "cotton", style: "casual", type: "shirt")
            == "navy striped cotton casual shirt")
    #expect(captionText(color: "black", pattern: "solid", material: nil, style: "formal", type: "blazer") == "black formal blazer")
}
