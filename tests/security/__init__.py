"""The security battery: hostile input through both drivers, each case
asserting the exact outcome a user relies on."""
