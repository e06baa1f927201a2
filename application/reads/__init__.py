"""The read side as the application sees it: named rows and the reader ports routes depend on."""
