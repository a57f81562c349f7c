print("lookbook")
