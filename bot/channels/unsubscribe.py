"""The place-holder for each recipient's own unsubscribe link, shared by composer and email."""

# A template shows the link where this stands; the email builder writes each recipient's
# link into it, so the body can be encoded once per content, not once per person.
UNSUBSCRIBE_MARK = "[unsubscribe-link]"
# The words before the link, in the plain-text part and the HTML footer.
UNSUBSCRIBE_WORDS = {"en": "To unsubscribe:", "my": "စာရင်းမှ ထွက်ရန် -"}
