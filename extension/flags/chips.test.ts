// @vitest-environment happy-dom
import { describe, expect, it } from 'vitest';
import { CHIP_HOST_ATTR, createChip, updateChip } from './chips';

describe('chips', () => {
  it('carry the test contract inside their shadow root, and nothing about the user in the page', () => {
    let opened = 0;
    const chip = createChip('005Hs0000000002', () => opened++);
    updateChip(chip, 'high', 4);
    document.body.append(chip.host);
    expect(chip.button.getAttribute('data-testid')).toBe('al-finding-flag');
    expect(chip.button.getAttribute('data-account-external-id')).toBe('005Hs0000000002');
    expect(chip.button.getAttribute('data-severity')).toBe('high');
    expect(chip.button.getAttribute('data-count')).toBe('4');
    expect(chip.button.textContent).toBe('4');
    // The page sees an empty element with one marker attribute.
    expect([...chip.host.attributes].map((a) => a.name)).toEqual([CHIP_HOST_ATTR]);
    expect(chip.host.textContent).toBe('');
    expect(chip.host.shadowRoot).toBeNull(); // closed outside end-to-end builds
    updateChip(chip, 'critical', 1);
    expect([chip.button.getAttribute('data-severity'), chip.button.textContent]).toEqual(['critical', '1']);
    // A script's click is not a person's: nothing opens.
    chip.button.click();
    chip.host.dispatchEvent(new MouseEvent('click', { bubbles: true }));
    expect(opened).toBe(0);
  });
});
