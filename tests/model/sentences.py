"""Ordinary English sentences for the MiniLM accuracy test (disjoint from the calibration set)."""

TEST_SENTENCES = (
    "A man is playing a guitar on stage.",
    "The children are building a sandcastle on the beach.",
    "I need to book a flight to Tokyo for next month.",
    "The spaghetti was overcooked and the sauce was too salty.",
    "Scientists discovered a new species of frog in the rainforest.",
    "My laptop battery drains very quickly after the latest update.",
    "The football match was cancelled because of heavy rain.",
    "She has been learning to speak Spanish for three years.",
    "How many calories are in a banana?",
    "The bank approved our mortgage application yesterday.",
    "Dogs are loyal animals and make great companions.",
    "The orchestra performed Beethoven's ninth symphony last night.",
    "Traffic on the highway was backed up for miles.",
    "Regular exercise reduces the risk of heart disease.",
    "The spacecraft entered orbit around Mars after a seven-month journey.",
    "Could you please turn down the music? I'm trying to sleep.",
    "The price of gold rose to a new all-time high.",
    "He forgot his umbrella and got soaked on the way home.",
    "Our garden is full of tomatoes, peppers and zucchini this summer.",
    "The judge sentenced the defendant to five years in prison.",
)
