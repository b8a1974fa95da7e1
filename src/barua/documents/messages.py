"""What the documents package says about a document: each problem and hint, declared once."""

from __future__ import annotations

from barua.texts import Message

# What is wrong with a field (shown after its path: ``lines[3].quantity: must be a number``)
REQUIRED = Message("documents.required", "is required")
NOT_A_FIELD = Message(
    "documents.not_a_field", "is not a field of this document (check the spelling)"
)
NOT_A_NUMBER = Message("documents.not_a_number", "must be a number")
NOT_A_WHOLE_NUMBER = Message("documents.not_a_whole_number", "must be a whole number")
NOT_TEXT = Message("documents.not_text", "must be text")
NOT_A_LIST = Message("documents.not_a_list", "must be a list")
NOT_AN_OBJECT = Message("documents.not_an_object", "must be an object")
NOT_A_BOOLEAN = Message("documents.not_a_boolean", "must be true or false")
NOT_A_DATE = Message("documents.not_a_date", "must be a date like 2025-01-31")
DATE_WITH_TIME = Message(
    "documents.date_with_time", "must be a date like 2025-01-31, without a time"
)
NOT_FINITE = Message("documents.not_finite", "must be a finite number")
EMPTY = Message("documents.empty", "must not be empty")
TOO_LONG_TEXT = Message("documents.too_long_text", "must be at most {limit} characters")
TOO_FEW_ITEMS = Message("documents.too_few_items", "must have at least {limit} items")
TOO_MANY_ITEMS = Message("documents.too_many_items", "must have at most {limit} items")
AT_LEAST = Message("documents.at_least", "must be at least {bound}")
MORE_THAN = Message("documents.more_than", "must be more than {bound}")
AT_MOST = Message("documents.at_most", "must be at most {bound}")
LESS_THAN = Message("documents.less_than", "must be less than {bound}")
DECIMAL_PLACES = Message("documents.decimal_places", "must have at most {places} decimal places")
TOO_MANY_DIGITS = Message(
    "documents.too_many_digits", "must have at most {digits} digits before the decimal point"
)
LINE_TOO_LARGE = Message(
    "documents.line_too_large",
    "quantity times unit_price must have at most {digits} digits before the decimal point",
)
ONE_OF = Message("documents.one_of", "must be {choices}")
NOT_A_COLOUR = Message("documents.not_a_colour", "must be a colour like #1F4E79")
NO_PATTERN = Message("documents.no_pattern", "does not match the pattern {pattern}")
NOT_A_LANGUAGE = Message(
    "documents.not_a_language", '"{value}" is not a language of documents; use one of {languages}'
)
NOT_A_TYPE = Message("documents.not_a_type", '"{value}" is not a document type; use one of {types}')
TYPE_REQUIRED = Message("documents.type_required", "is required: one of {types}")
NOT_A_JSON_OBJECT = Message("documents.not_a_json_object", "must be a JSON object")
INVALID = Message("documents.invalid", "{reason}")
NOT_AN_ADDRESS = Message("documents.not_an_address", '"{value}" is not a valid email address')
NOT_A_CURRENCY = Message(
    "documents.not_a_currency",
    '"{value}" is not a currency code; use ISO 4217, e.g. TZS, KES, USD, EUR',
)
NOT_A_LOCALE = Message(
    "documents.not_a_locale", '"{value}" is not a known locale; use e.g. en_US, sw_TZ, de_DE'
)
DUE_BEFORE_ISSUE = Message("documents.due_before_issue", "must not be before issue_date")
END_BEFORE_START = Message("documents.end_before_start", "must not be before period_start")
CELLS = Message("documents.cells", "has {cells} cells, the table has {columns}")

# The logo
LOGO_NOT_PATH_OR_URI = Message(
    "documents.logo_not_path_or_uri", "must be a file path or a data:image/png;base64,... URI"
)
LOGO_BAD_BASE64 = Message("documents.logo_bad_base64", "the data URI is not valid base64")
LOGO_NOT_AN_IMAGE = Message("documents.logo_not_an_image", "the logo must be a PNG or JPEG image")
LOGO_UNDECODABLE = Message(
    "documents.logo_undecodable", "{where} is not a readable PNG or JPEG image"
)
LOGO_DATA_URI = Message("documents.logo_data_uri", "the logo data URI")
LOGO_FILE_REFUSED = Message(
    "documents.logo_file_refused",
    "must name a PNG or JPEG file of at most {megabytes} MB and {megapixels} million pixels "
    "in the document's folder",
)
LOGO_FILE_REFUSED_OR_FOLDER = Message(
    "documents.logo_file_refused_or_folder",
    "must name a PNG or JPEG file of at most {megabytes} MB and {megapixels} million pixels "
    "in the document's folder or in {folder}",
)
LOGO_TOO_LARGE = Message(
    "documents.logo_too_large",
    "the logo must be at most {megabytes} MB and {megapixels} million pixels",
)
LOGO_HINT = Message("documents.logo_hint", "Save the logo as PNG or JPEG.")
LOGO_PATH_HINT = Message(
    "documents.logo_path_hint",
    "Check the logo path; a relative path is relative to the JSON file.",
)

# Reading the file
HINT = Message(
    "documents.hint",
    "Fix the fields named above; `barua document schema` prints every field and its type.",
)
NOT_JSON = Message("documents.not_json", "not valid JSON: {reason} at line {line}, column {column}")
NOT_JSON_HINT = Message(
    "documents.not_json_hint",
    "Check the file with a JSON validator; a common slip is a trailing comma.",
)
# The JSON parser's own words for a mistake, in the reader's language (the parser speaks
# English only); a wording not listed here is shown as the parser gave it.
JSON_REASONS = {
    "Expecting value": Message("documents.json_value", "a value is missing"),
    "Expecting property name enclosed in double quotes": Message(
        "documents.json_name", "a field name in double quotes is expected"
    ),
    "Expecting ':' delimiter": Message("documents.json_colon", "a colon (:) is missing"),
    "Expecting ',' delimiter": Message("documents.json_comma", "a comma (,) is missing"),
    "Unterminated string starting at": Message(
        "documents.json_unterminated", "a text in quotes is not closed"
    ),
    "Invalid control character at": Message(
        "documents.json_control", "a control character is inside a text"
    ),
    "Extra data": Message("documents.json_extra", "more follows the end of the document"),
    "Invalid \\escape": Message("documents.json_escape", "a backslash escape is not valid"),
    "Invalid \\uXXXX escape": Message("documents.json_u_escape", "a \\uXXXX escape is not valid"),
    "Illegal trailing comma before end of object": Message(
        "documents.json_trailing_object", "a comma too many at the end of an object"
    ),
    "Illegal trailing comma before end of array": Message(
        "documents.json_trailing_array", "a comma too many at the end of a list"
    ),
}
NOT_UTF8 = Message("documents.not_utf8", "not UTF-8 text")
NOT_ONE_OBJECT = Message("documents.not_one_object", "must hold one JSON object")
CANNOT_READ = Message("documents.cannot_read", "cannot read {path}: {reason}")
CANNOT_READ_HINT = Message("documents.cannot_read_hint", "Check the file name.")
NOT_A_FILE = Message("documents.not_a_file", "is not a regular file (a FIFO or a device?)")
DOCUMENT_TOO_LARGE = Message(
    "documents.document_too_large", "is larger than {megabytes} MB, more than a document holds"
)
TOO_DEEP = Message("documents.too_deep", "nests objects and lists more than {limit} levels deep")

# Printing
NO_GLYPHS = Message("documents.no_glyphs", "cannot be printed: the PDF fonts have no {characters}")
RIGHT_TO_LEFT = Message(
    "documents.right_to_left",
    "is written right to left, which the PDF layout does not support yet",
)
FONTS_HINT = Message(
    "documents.fonts_hint",
    "The PDF fonts cover Latin, Greek and Cyrillic letters: write these fields in such "
    "letters, or set {variable} to a folder of fonts that have the characters (saved as "
    "DejaVuSans.ttf and DejaVuSans-Bold.ttf).",
)
RIGHT_TO_LEFT_HINT = Message(
    "documents.right_to_left_hint",
    "Documents print left to right only: write these fields in a left-to-right script, e.g. "
    "the name in Latin letters.",
)
FONTS_AND_RIGHT_TO_LEFT_HINT = Message(
    "documents.fonts_and_right_to_left_hint", "{fonts} {right_to_left}"
)
TOO_WIDE = Message(
    "documents.too_wide",
    "has too many wide columns to print without shortening numbers: they need {need} pt at "
    "{size} pt type, a landscape page has {width} pt",
)
TOO_WIDE_HINT = Message(
    "documents.too_wide_hint",
    "Split the table into narrower ones (fewer columns each, e.g. one per quarter), or "
    "shorten its column headings.",
)
FONTS_MISSING = Message(
    "documents.fonts_missing", "the DejaVu Sans fonts were not found in {where}"
)
FONTS_USUAL_FOLDERS = Message("documents.fonts_usual_folders", "the usual font folders")
FONTS_MISSING_HINT = Message(
    "documents.fonts_missing_hint",
    "Install them with `sudo apt-get install fonts-dejavu-core` (or run scripts/install-fonts), "
    "or set {variable} to a folder holding DejaVuSans.ttf and DejaVuSans-Bold.ttf.",
)
FONT_UNREADABLE = Message("documents.font_unreadable", "cannot read the font {path}: {reason}")
FONT_UNREADABLE_HINT = Message(
    "documents.font_unreadable_hint",
    "Reinstall fonts-dejavu-core, or point {variable} to a good copy.",
)

# Email templates
TEMPLATE_HINT = Message(
    "documents.template_hint",
    "Templates use Jinja2: {{{{ document_number }}}} prints a field, {{% if due_date %}}…"
    "{{% endif %}} tests one. Fields: {fields}.",
)
TEMPLATE_SYNTAX = Message(
    "documents.template_syntax",
    "line {line}: the template is not written correctly (Jinja says: {reason})",
)
TEMPLATE_NOT_ALLOWED = Message(
    "documents.template_not_allowed", "not allowed in a template: {reason}"
)
TEMPLATE_NOT_ALLOWED_HINT = Message(
    "documents.template_not_allowed_hint",
    "Templates can print the document's fields, not Python objects.",
)
TEMPLATE_UNKNOWN_FIELD = Message(
    "documents.template_unknown_field", "{reason}; use one of the fields listed below"
)
TEMPLATE_FAILED = Message("documents.template_failed", "{reason}")
TEMPLATE_TOO_SLOW = Message(
    "documents.template_too_slow", "took more than {seconds} s to render: does it loop too much?"
)
TEMPLATE_TOO_MANY_LOOPS = Message(
    "documents.template_too_many_loops", "loops more than {limit} times in all"
)
TEMPLATE_TOO_MUCH_TEXT = Message(
    "documents.template_too_much_text", "builds a text longer than {limit} characters"
)
TEMPLATE_TOO_MUCH_OUTPUT = Message(
    "documents.template_too_much_output",
    "writes more than {limit} characters in all (macros and blocks included)",
)
TEMPLATE_TOO_LONG_OUTPUT = Message(
    "documents.template_too_long_output", "prints more than {limit} characters"
)
TEMPLATE_TOO_LONG = Message("documents.template_too_long", "is longer than {limit} characters")
TEMPLATE_NUMBER_TOO_LARGE = Message(
    "documents.template_number_too_large", "computes a number of more than {digits} digits"
)
TEMPLATE_TOO_DEEP = Message(
    "documents.template_too_deep",
    "nests or calls itself too deeply (a macro that calls itself without end?)",
)
TEMPLATE_STANDS_ALONE = Message(
    "documents.template_stands_alone",
    "cannot use {{% {tag} %}}: an email template stands alone, without other templates or files",
)
TEMPLATE_LIMITS_HINT = Message(
    "documents.template_limits_hint",
    "An email template prints the document's fields with some text around them: it may loop "
    "{loops} times, build {text} characters and take {seconds} s at most. Make it simpler.",
)

# Emailing
NO_RECIPIENT = Message("documents.no_recipient", "has no address to email the document to")
NO_RECIPIENT_HINT = Message(
    "documents.no_recipient_hint",
    "Add the customer's address to party.emails in the document, or give recipients with --to.",
)
REPORT_NO_PARTY = Message(
    "documents.report_no_party", "is not given, so the report has no address to email it to"
)
REPORT_NO_RECIPIENT = Message(
    "documents.report_no_recipient", "has no address to email the report to"
)
REPORT_NO_RECIPIENT_HINT = Message(
    "documents.report_no_recipient_hint",
    "Give the recipients with --to (e.g. --to accountant@example.com), or add a party with "
    "emails to the report.",
)
UNEXPECTED = Message(
    "documents.unexpected", "could not be emailed: barua met an unexpected {error} ({reason})"
)
UNEXPECTED_HINT = Message(
    "documents.unexpected_hint",
    "The other documents are queued. Please report this document to barua's developers.",
)
RENDERING_DIED = Message(
    "documents.rendering_died",
    "a rendering process stopped unexpectedly (was it out of memory?); the documents before "
    "it are queued",
)
RENDERING_DIED_HINT = Message(
    "documents.rendering_died_hint",
    "Run the same command again: what is queued stays queued. With --processes 1 the "
    "documents are rendered one by one in one process.",
)
