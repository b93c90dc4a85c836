// html.js: the page's one view library, Preact with htm's tagged templates (no build
// step). `html` builds elements; text in ${…} is always set as text, never parsed as HTML.
import { h, render } from "preact";
import htm from "htm";

export const html = htm.bind(h);
export { render };
export { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
