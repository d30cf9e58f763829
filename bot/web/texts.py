"""The words of the web pages and the confirmation email, in English and Burmese.

Kept apart from the templates so both languages are checked to have the same keys (a missing
Burmese string fails a test, not a reader), and so no Latin digit slips into Burmese text:
numbers are passed in and written with `bot.lang.digits`.
"""

from __future__ import annotations

from typing import Final

LANGS: Final = ("en", "my")

# The topics a subscriber can choose, in the order the form lists them.
TOPIC_NAMES: Final[dict[str, dict[str, str]]] = {
    "en": {
        "statements": "Statements",
        "weekly-digest": "Weekly digest",
        "daily-briefing": "Daily briefing",
    },
    "my": {
        "statements": "ထုတ်ပြန်ချက်များ",
        "weekly-digest": "အပတ်စဉ်သတင်းအကျဉ်း",
        "daily-briefing": "နေ့စဉ်သတင်းအကျဉ်း",
    },
}

TEXTS: Final[dict[str, dict[str, str]]] = {
    "en": {
        "figures_title": "Latest figures",
        "source": "source",
        "no_figures": "No figures yet.",
        "nav_figures": "Figures",
        "nav_posts": "Published posts",
        "feed": "Atom feed",
        # The form
        "subscribe_title": "Get our posts by email",
        "subscribe_intro": "We send only what you choose. Your address is never shown to "
        "anyone, never shared, and every email has a link to unsubscribe at once.",
        "email_label": "Email address",
        "lang_label": "Language of the emails",
        "lang_en": "English",
        "lang_my": "Burmese (မြန်မာ)",
        "topics_label": "What to receive",
        "topic_statements_hint": "statements only, when we publish one",
        "topic_weekly-digest_hint": "every Monday",
        "topic_daily-briefing_hint": "every evening",
        "honeypot_label": "Leave this field empty",
        "subscribe_button": "Subscribe",
        "form_problems": "Please correct the form:",
        # The anti-abuse check (bot/web/challenge.py, static/challenge.js), when it is on
        "challenge_noscript": "Sign-up on this page needs JavaScript: while our anti-abuse "
        "check is on, your browser solves a small puzzle before the form is sent. The puzzle "
        "comes from this site only and nothing tracks you. Please allow JavaScript for this "
        "site to subscribe.",
        "challenge_working": "Checking: your browser is solving a small puzzle, which takes a "
        "few seconds…",
        "challenge_failed": "The check could not be completed and nothing was sent. Please try "
        "again.",
        # Answers
        "inbox_title": "Check your inbox",
        "inbox_body": "If this address is not subscribed yet, an email with a confirmation "
        "link will reach it in a few minutes. Open the link and press the button on its page "
        "to start receiving our posts; the link works for {days} days. Nothing is sent until "
        "you confirm.",
        "inbox_later": "If no email arrives, look in your spam folder, or try again later.",
        "back_home": "Back to the figures",
        "limit_title": "Too many sign-ups just now",
        "limit_body": "Nothing was sent: there have been too many sign-up requests recently "
        "(from your network, for this address, or in all). Please try again later.",
        "confirm_title": "Confirm your subscription",
        "confirm_body": "Press the button to start receiving: {topics}.",
        "confirm_button": "Confirm my subscription",
        "confirmed_title": "Thank you: your subscription is confirmed",
        "confirmed_body": "You will receive: {topics}.",
        "confirmed_leave": "Every email we send has a link to unsubscribe at once.",
        "unsubscribe_title": "Unsubscribe",
        "unsubscribe_body": "Press the button to stop receiving our emails at this address.",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed_title": "You are unsubscribed",
        "unsubscribed_body": "We will send nothing more to this address. "
        "You can subscribe again at any time.",
        "bad_link_title": "This link is not valid",
        "bad_link_body": "It may have been cut or changed when it was copied. Open the link "
        "from the email again, or subscribe again from the home page.",
        "expired_title": "This confirmation link has expired",
        "expired_body": "Confirmation links work for {days} days. Subscribe again to get a "
        "new one.",
        "gone_title": "This link no longer works",
        "gone_body": "This subscription was ended. Subscribe again from the home page.",
        "not_found_title": "Page not found",
        "not_found_body": "There is nothing at this address.",
        "bad_confirm_body": "It may have expired (confirmation links work for {days} days), or "
        "been cut when it was copied. Subscribe again from the home page to get a new one.",
        "error_400_title": "This request could not be understood",
        "error_405_title": "This page cannot be used this way",
        "error_413_title": "This request is too large",
        "error_500_title": "Something went wrong",
        "error_503_title": "Too many visitors at this moment",
        "error_body": "Please go back to the home page, or try again later.",
        # Form problems, by field and kind
        "problem_form_too_large": "The form is too large.",
        "problem_form_unreadable": "The form could not be read; please use the form on this page.",
        "problem_form_forged": "This form has expired or did not come from this site. Nothing "
        "was sent: please send it again from this page.",
        "problem_form_challenge": "Nothing was sent: the form's anti-abuse check was missing, "
        "expired or already used. Sign-up needs JavaScript while this check is on; please allow "
        "it for this site and send the form again from this page.",
        "problem_email_missing": "Enter your email address.",
        "problem_email_too_long": "The email address is too long.",
        "problem_email_line_break": "The email address cannot contain line breaks or "
        "control characters.",
        "problem_email_invalid": "This is not an email address we can send to "
        "(for example: name@example.org).",
        "problem_lang_missing": "Choose the language of the emails.",
        "problem_lang_too_long": "Choose English or Burmese.",
        "problem_lang_line_break": "Choose English or Burmese.",
        "problem_lang_unknown": "Choose English or Burmese.",
        "problem_topics_missing": "Choose at least one thing to receive.",
        "problem_topics_too_long": "Choose from the listed options only.",
        "problem_topics_line_break": "Choose from the listed options only.",
        "problem_topics_unknown": "Choose from the listed options only.",
        # Archive
        "posts_title": "Published posts",
        "posts_empty": "Nothing has been published yet.",
        "posts_older": "Older posts",
        "post_published": "Published",
        "post_other_lang": "This post was not published in English; it is shown in Burmese.",
        # Figure pages and charts (bot/web/figure_pages.py, bot/web/charts.py)
        "figures_all": "All figures",
        "figure_count": "Number",
        "figure_date": "Date",
        "figure_source": "Source",
        "figure_chart": "Chart",
        "figure_history": "Every count, newest first",
        "figure_spans": "Counted over a span",
        "figure_span": "Span",
        "figure_none": "No count of this figure has been published yet.",
        "figure_corrected": "corrected: {why}",
        "kind_cumulative": "A running total since the coup; it falls only when corrected.",
        "kind_current": "The number of people at each date; it can fall.",
        "kind_period": "Counted over a span of time, such as a year.",
        "chart_summary": "{count} counts, from {first} on {first_date} to {last} on {last_date}.",
        "chart_one": "One count: {last} on {last_date}.",
        # The confirmation email
        "mail_subject": "Confirm your subscription to {org}",
        "mail_hello": "Someone, probably you, asked to receive {topics} from {org} at this "
        "address, in English.",
        "mail_confirm": "To confirm, open this link and press the button on its page (it works "
        "for {days} days):",
        "mail_button": "Confirm my subscription",
        "mail_ignore": "If it was not you, ignore this email: nothing more will be sent to "
        "you unless the link is opened.",
        "mail_unsubscribe": "Stop all emails from us:",
    },
    "my": {
        "figures_title": "နောက်ဆုံး ကိန်းဂဏန်းများ",
        "source": "ရင်းမြစ်",
        "no_figures": "ကိန်းဂဏန်းများ မထည့်သွင်းရသေးပါ။",
        "nav_figures": "ကိန်းဂဏန်းများ",
        "nav_posts": "ထုတ်ပြန်ခဲ့သော စာများ",
        "feed": "Atom feed",
        "subscribe_title": "ကျွန်ုပ်တို့၏ စာများကို အီးမေးလ်ဖြင့် ရယူရန်",
        "subscribe_intro": "သင်ရွေးချယ်သည်များကိုသာ ပို့ပါမည်။ သင့်လိပ်စာကို မည်သူ့ကိုမျှ "
        "မပြသ၊ မမျှဝေပါ။ အီးမေးလ်တိုင်းတွင် ချက်ချင်း စာရင်းမှထွက်နိုင်သော လင့်ခ် ပါဝင်ပါသည်။",
        "email_label": "အီးမေးလ်လိပ်စာ",
        "lang_label": "အီးမေးလ်များ၏ ဘာသာစကား",
        "lang_en": "အင်္ဂလိပ် (English)",
        "lang_my": "မြန်မာ",
        "topics_label": "လက်ခံလိုသည့် အကြောင်းအရာ",
        "topic_statements_hint": "ထုတ်ပြန်ချက် ထုတ်ပြန်သည့်အခါတိုင်း",
        "topic_weekly-digest_hint": "တနင်္လာနေ့တိုင်း",
        "topic_daily-briefing_hint": "ညနေတိုင်း",
        "honeypot_label": "ဤအကွက်ကို ကွက်လပ်အတိုင်း ထားပါ",
        "subscribe_button": "စာရင်းသွင်းရန်",
        "form_problems": "ပုံစံကို ပြင်ဆင်ပေးပါ -",
        "challenge_noscript": "ဤစာမျက်နှာတွင် စာရင်းသွင်းရန် JavaScript လိုအပ်ပါသည်။ "
        "အလွဲသုံးစားမှု ကာကွယ်ရေး စစ်ဆေးမှု ဖွင့်ထားစဉ် ပုံစံကို မပို့မီ သင့်ဘရောက်ဇာက "
        "ပဟေဠိငယ်တစ်ခုကို ဖြေရှင်းပါသည်။ ထိုပဟေဠိသည် ဤဝက်ဘ်ဆိုက်မှသာ လာပြီး သင့်ကို "
        "ခြေရာခံခြင်း မရှိပါ။ စာရင်းသွင်းရန် ဤဝက်ဘ်ဆိုက်အတွက် JavaScript ကို ခွင့်ပြုပါ။",
        "challenge_working": "စစ်ဆေးနေသည်- သင့်ဘရောက်ဇာက ပဟေဠိငယ်တစ်ခုကို ဖြေရှင်းနေပါသည်၊ စက္ကန့်အနည်းငယ် ကြာပါမည်…",
        "challenge_failed": "စစ်ဆေးမှု မပြီးမြောက်ပါ၊ မည်သည့်အီးမေးလ်မျှ မပို့ရသေးပါ။ ထပ်မံ ကြိုးစားပါ။",
        "inbox_title": "သင့်အီးမေးလ်ကို စစ်ဆေးပါ",
        "inbox_body": "ဤလိပ်စာဖြင့် စာရင်းမသွင်းရသေးပါက အတည်ပြုရန်လင့်ခ်ပါသော အီးမေးလ်တစ်စောင် "
        "မိနစ်အနည်းငယ်အတွင်း ရောက်ရှိလာပါမည်။ ကျွန်ုပ်တို့၏ စာများ စတင်ရယူရန် ထိုလင့်ခ်ကို ဖွင့်ပြီး "
        "ခလုတ်ကို နှိပ်ပါ။ လင့်ခ်သည် {days} ရက် အသုံးပြုနိုင်ပါသည်။ အတည်မပြုမချင်း "
        "မည်သည့်စာမျှ ပို့မည်မဟုတ်ပါ။",
        "inbox_later": "အီးမေးလ် မရောက်ပါက spam ဖိုင်တွဲကို စစ်ဆေးပါ သို့မဟုတ် နောက်မှ ထပ်ကြိုးစားပါ။",
        "back_home": "ကိန်းဂဏန်းများသို့ ပြန်သွားရန်",
        "limit_title": "စာရင်းသွင်းရန် တောင်းဆိုမှု များလွန်းနေပါသည်",
        "limit_body": "မည်သည့်အီးမေးလ်မျှ မပို့ပါ။ မကြာသေးမီက စာရင်းသွင်းရန် တောင်းဆိုမှုများ "
        "များလွန်းပါသည် (သင့်ကွန်ရက်မှ၊ ဤလိပ်စာအတွက် သို့မဟုတ် စုစုပေါင်း)။ နောက်မှ ထပ်ကြိုးစားပါ။",
        "confirm_title": "စာရင်းသွင်းမှုကို အတည်ပြုပါ",
        "confirm_body": "{topics} ကို စတင်ရယူရန် ခလုတ်ကို နှိပ်ပါ။",
        "confirm_button": "စာရင်းသွင်းမှုကို အတည်ပြုမည်",
        "confirmed_title": "ကျေးဇူးတင်ပါသည်။ သင်၏ စာရင်းသွင်းမှုကို အတည်ပြုပြီးပါပြီ",
        "confirmed_body": "သင်ရယူမည့် အကြောင်းအရာ - {topics}။",
        "confirmed_leave": "ကျွန်ုပ်တို့ ပို့သော အီးမေးလ်တိုင်းတွင် ချက်ချင်း စာရင်းမှထွက်နိုင်သော လင့်ခ် ပါဝင်ပါသည်။",
        "unsubscribe_title": "စာရင်းမှ ထွက်ရန်",
        "unsubscribe_body": "ဤလိပ်စာဖြင့် ကျွန်ုပ်တို့၏ အီးမေးလ်များ ဆက်မရယူလိုပါက ခလုတ်ကို နှိပ်ပါ။",
        "unsubscribe_button": "စာရင်းမှ ထွက်မည်",
        "unsubscribed_title": "စာရင်းမှ ထွက်ပြီးပါပြီ",
        "unsubscribed_body": "ဤလိပ်စာသို့ နောက်ထပ် မည်သည့်အီးမေးလ်မျှ ပို့တော့မည်မဟုတ်ပါ။ "
        "မည်သည့်အချိန်တွင်မဆို ပြန်လည် စာရင်းသွင်းနိုင်ပါသည်။",
        "bad_link_title": "ဤလင့်ခ်သည် မမှန်ကန်ပါ",
        "bad_link_body": "ကူးယူစဉ် လင့်ခ် ပြတ်သွားခြင်း သို့မဟုတ် ပြောင်းလဲသွားခြင်း "
        "ဖြစ်နိုင်ပါသည်။ အီးမေးလ်ထဲမှ လင့်ခ်ကို ထပ်ဖွင့်ပါ သို့မဟုတ် ပင်မစာမျက်နှာမှ "
        "ပြန်လည် စာရင်းသွင်းပါ။",
        "expired_title": "ဤအတည်ပြုလင့်ခ် သက်တမ်းကုန်သွားပါပြီ",
        "expired_body": "အတည်ပြုလင့်ခ်များသည် {days} ရက်သာ အသုံးပြုနိုင်ပါသည်။ လင့်ခ်အသစ်ရရန် ပြန်လည် စာရင်းသွင်းပါ။",
        "gone_title": "ဤလင့်ခ်ကို အသုံးပြု၍ မရတော့ပါ",
        "gone_body": "ဤစာရင်းသွင်းမှု ရပ်စဲပြီးဖြစ်ပါသည်။ ပင်မစာမျက်နှာမှ ပြန်လည် စာရင်းသွင်းပါ။",
        "not_found_title": "စာမျက်နှာ မတွေ့ပါ",
        "not_found_body": "ဤလိပ်စာတွင် မည်သည့်အရာမျှ မရှိပါ။",
        "bad_confirm_body": "ဤလင့်ခ် သက်တမ်းကုန်သွားခြင်း (အတည်ပြုလင့်ခ်များသည် {days} ရက်သာ "
        "အသုံးပြုနိုင်ပါသည်) သို့မဟုတ် ကူးယူစဉ် ပြတ်သွားခြင်း ဖြစ်နိုင်ပါသည်။ လင့်ခ်အသစ်ရရန် "
        "ပင်မစာမျက်နှာမှ ပြန်လည် စာရင်းသွင်းပါ။",
        "error_400_title": "ဤတောင်းဆိုချက်ကို နားမလည်ပါ",
        "error_405_title": "ဤစာမျက်နှာကို ဤနည်းဖြင့် အသုံးမပြုနိုင်ပါ",
        "error_413_title": "ဤတောင်းဆိုချက် ကြီးလွန်းပါသည်",
        "error_500_title": "တစ်စုံတစ်ခု မှားယွင်းသွားပါသည်",
        "error_503_title": "ယခု လာရောက်သူ များလွန်းနေပါသည်",
        "error_body": "ပင်မစာမျက်နှာသို့ ပြန်သွားပါ သို့မဟုတ် နောက်မှ ထပ်ကြိုးစားပါ။",
        "problem_form_too_large": "ပုံစံ၏ အရွယ်အစား ကြီးလွန်းပါသည်။",
        "problem_form_unreadable": "ပုံစံကို ဖတ်၍မရပါ။ ဤစာမျက်နှာရှိ ပုံစံကို အသုံးပြုပါ။",
        "problem_form_forged": "ဤပုံစံ သက်တမ်းကုန်သွားပြီ သို့မဟုတ် ဤဝက်ဘ်ဆိုက်မှ မဟုတ်ပါ။ "
        "မည်သည့်အီးမေးလ်မျှ မပို့ရသေးပါ။ ဤစာမျက်နှာမှ ထပ်မံ ပေးပို့ပါ။",
        "problem_form_challenge": "မည်သည့်အီးမေးလ်မျှ မပို့ရသေးပါ။ ဤပုံစံ၏ အလွဲသုံးစားမှု "
        "ကာကွယ်ရေး စစ်ဆေးမှု မပါဝင်ပါ၊ သက်တမ်းကုန်သွားပြီ သို့မဟုတ် အသုံးပြုပြီးသား ဖြစ်နေပါသည်။ "
        "ဤစစ်ဆေးမှု ဖွင့်ထားစဉ် စာရင်းသွင်းရန် JavaScript လိုအပ်ပါသည်။ ဤဝက်ဘ်ဆိုက်အတွက် "
        "JavaScript ကို ခွင့်ပြုပြီး ဤစာမျက်နှာမှ ထပ်မံ ပေးပို့ပါ။",
        "problem_email_missing": "သင့်အီးမေးလ်လိပ်စာကို ထည့်ပါ။",
        "problem_email_too_long": "အီးမေးလ်လိပ်စာ ရှည်လွန်းပါသည်။",
        "problem_email_line_break": "အီးမေးလ်လိပ်စာတွင် စာကြောင်းခွဲခြင်း သို့မဟုတ် ထိန်းချုပ်အက္ခရာများ မပါရပါ။",
        "problem_email_invalid": "ဤလိပ်စာသို့ အီးမေးလ် ပို့၍မရပါ (ဥပမာ - name@example.org)။",
        "problem_lang_missing": "အီးမေးလ်များ၏ ဘာသာစကားကို ရွေးပါ။",
        "problem_lang_too_long": "အင်္ဂလိပ် သို့မဟုတ် မြန်မာ ဘာသာကို ရွေးပါ။",
        "problem_lang_line_break": "အင်္ဂလိပ် သို့မဟုတ် မြန်မာ ဘာသာကို ရွေးပါ။",
        "problem_lang_unknown": "အင်္ဂလိပ် သို့မဟုတ် မြန်မာ ဘာသာကို ရွေးပါ။",
        "problem_topics_missing": "လက်ခံလိုသည့် အကြောင်းအရာ အနည်းဆုံး တစ်ခု ရွေးပါ။",
        "problem_topics_too_long": "ဖော်ပြထားသည့် ရွေးချယ်စရာများထဲမှသာ ရွေးပါ။",
        "problem_topics_line_break": "ဖော်ပြထားသည့် ရွေးချယ်စရာများထဲမှသာ ရွေးပါ။",
        "problem_topics_unknown": "ဖော်ပြထားသည့် ရွေးချယ်စရာများထဲမှသာ ရွေးပါ။",
        "posts_title": "ထုတ်ပြန်ခဲ့သော စာများ",
        "posts_empty": "ထုတ်ပြန်ထားသော စာ မရှိသေးပါ။",
        "posts_older": "ယခင် စာများ",
        "post_published": "ထုတ်ပြန်သည့်နေ့",
        "post_other_lang": "ဤစာကို မြန်မာဘာသာဖြင့် မထုတ်ပြန်ခဲ့ပါ။ အင်္ဂလိပ်ဘာသာဖြင့် ပြသထားပါသည်။",
        "figures_all": "ကိန်းဂဏန်းအားလုံး",
        "figure_count": "အရေအတွက်",
        "figure_date": "ရက်စွဲ",
        "figure_source": "ရင်းမြစ်",
        "figure_chart": "ဇယားကွက်",
        "figure_history": "ထုတ်ပြန်ခဲ့သော အရေအတွက်အားလုံး (နောက်ဆုံးမှ စ၍)",
        "figure_spans": "ကာလအလိုက် ရေတွက်ချက်များ",
        "figure_span": "ကာလ",
        "figure_none": "ဤကိန်းဂဏန်းကို ထုတ်ပြန်ထားခြင်း မရှိသေးပါ။",
        "figure_corrected": "ပြင်ဆင်ချက် - {why}",
        "kind_cumulative": "စစ်အာဏာသိမ်းပြီးကတည်းက စုစုပေါင်း အရေအတွက် ဖြစ်ပြီး ပြင်ဆင်မှသာ လျော့ကျပါသည်။",
        "kind_current": "ရက်စွဲတစ်ခုစီတွင် ရှိနေသော လူဦးရေ ဖြစ်၍ လျော့ကျနိုင်ပါသည်။",
        "kind_period": "တစ်နှစ်ကဲ့သို့ ကာလတစ်ခုအတွင်း ရေတွက်ထားသော အရေအတွက်။",
        "chart_summary": "{first_date}တွင် {first} ဦးမှ {last_date}တွင် {last} ဦးအထိ "
        "(ထုတ်ပြန်ချက် {count} ကြိမ်)။",
        "chart_one": "{last_date}တွင် {last} ဦး (ထုတ်ပြန်ချက် တစ်ကြိမ်)။",
        "mail_subject": "{org} ၏ စာရင်းသွင်းမှုကို အတည်ပြုပါ",
        "mail_hello": "တစ်စုံတစ်ဦး (သင်ဖြစ်နိုင်ပါသည်) က ဤလိပ်စာသို့ {org} ၏ {topics} ကို "
        "မြန်မာဘာသာဖြင့် ရယူရန် တောင်းဆိုခဲ့ပါသည်။",
        "mail_confirm": "အတည်ပြုရန် ဤလင့်ခ်ကို ဖွင့်ပြီး ခလုတ်ကို နှိပ်ပါ ({days} ရက် အသုံးပြုနိုင်ပါသည်) -",
        "mail_button": "စာရင်းသွင်းမှုကို အတည်ပြုမည်",
        "mail_ignore": "သင်မဟုတ်ပါက ဤအီးမေးလ်ကို လျစ်လျူရှုပါ။ လင့်ခ်ကို မဖွင့်လျှင် နောက်ထပ် မည်သည့်စာမျှ ပို့မည်မဟုတ်ပါ။",
        "mail_unsubscribe": "ကျွန်ုပ်တို့ထံမှ အီးမေးလ်အားလုံးကို ရပ်ရန် -",
    },
}


def topic_list(topics: tuple[str, ...], lang: str) -> str:
    """The chosen topics as a reader's list: "Statements, Weekly digest" / "…၊ …"."""
    names = [TOPIC_NAMES[lang][topic] for topic in topics if topic in TOPIC_NAMES[lang]]
    return ("၊ " if lang == "my" else ", ").join(names)
