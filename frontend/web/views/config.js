// views/config.js: the Configuration section, three tabs: the user's own preferences
// (#/config/preferences, the default), the global options (#/config/options) and module
// management (#/config/modules). Each tab is its own module.
import { html } from "../html.js";
import { t } from "../i18n.js";
import { Tabs } from "../ui.js";
import Preferences from "./config-preferences.js";
import Options from "./config-options.js";
import Modules from "./config-modules.js";

const TABS = { preferences: Preferences, options: Options, modules: Modules };

export default function Config({ route, me }) {
  const current = Object.hasOwn(TABS, route[1] ?? "") ? route[1] : "preferences";
  const Panel = TABS[current];
  return html`
    <h1>${t("config.title")}</h1>
    <${Tabs} label=${t("config.tabs")} current=${current} href=${(id) => `#/config/${id}`}
      tabs=${Object.keys(TABS).map((id) => ({ id, label: t(`config.tab.${id}`) }))} />
    <${Panel} key=${current} me=${me} />`;
}
