// Importing "privaudit/widget" registers <privacy-audit>; see index.d.ts for its type.
import type { PrivacyAuditElement } from "./index.js";
export type { PrivacyAuditElement } from "./index.js";
export declare const PrivacyAudit: { new (): PrivacyAuditElement; prototype: PrivacyAuditElement };
