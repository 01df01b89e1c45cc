-- AccessLens schema v13: the display name of a catalog key's object, in both languages, so the overlay
-- says "Your access to Opportunities" / "您对 商机 的权限" rather than an API name. Null where the
-- catalog does not know it (the API name is shown then).
ALTER TABLE permission_catalog ADD COLUMN object_label_en TEXT;
ALTER TABLE permission_catalog ADD COLUMN object_label_zh_cn TEXT;
