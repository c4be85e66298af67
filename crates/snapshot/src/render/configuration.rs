//! `AssetConfiguration`: one fragment per (configuration, variant) written at publish;
//! a row is device head + configuration variant + device tail.

use super::{RenderError, Tables, display, field, js};
use crate::format::{FragWriter, read_u16, read_u32};
use crate::layout::slot;

/// Writes the `configurations` table: [`slot::CONFIG_VARIANTS`] fragments per configuration.
pub(crate) fn write_fragments(
    frags: &mut FragWriter,
    configurations: &[assess::catalog::Configuration],
) -> Result<(), RenderError> {
    let mut out = Vec::new();
    for c in configurations {
        for variant in 0..slot::CONFIG_VARIANTS {
            let (applicable, compliant) = (variant & 1 != 0, variant & 2 != 0);
            out.clear();
            field(&mut out, "configurationId");
            js(&mut out, &c.id);
            out.push(b',');
            field(&mut out, "configurationCategory");
            js(&mut out, &c.category);
            out.push(b',');
            field(&mut out, "configurationSubcategory");
            js(&mut out, &c.subcategory);
            out.extend_from_slice(b",\"configurationImpact\":");
            display(&mut out, c.impact);
            out.extend_from_slice(b",\"isCompliant\":");
            display(&mut out, compliant);
            out.extend_from_slice(b",\"isApplicable\":");
            display(&mut out, applicable);
            out.extend_from_slice(b",\"isExpectedUserImpact\":");
            display(&mut out, c.expected_user_impact);
            out.push(b',');
            field(&mut out, "configurationName");
            js(&mut out, &c.name);
            out.push(b',');
            field(&mut out, "recommendationReference");
            js(&mut out, &format!("sca-_-{}", c.id));
            out.push(b',');
            frags.push(&out)?;
        }
    }
    Ok(())
}

pub(crate) fn render_row(t: &Tables, r: &[u8], out: &mut Vec<u8>) {
    let (d, c, variant) = (read_u32(r, 0), read_u16(r, 4), read_u16(r, 6));
    out.extend_from_slice(t.device(d, slot::SCA_HEAD));
    out.extend_from_slice(
        t.configurations
            .get(c as usize * slot::CONFIG_VARIANTS + variant as usize),
    );
    out.extend_from_slice(t.device(d, slot::TAIL));
}
