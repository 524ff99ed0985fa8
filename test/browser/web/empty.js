// Stands in for @aws-sdk/client-chime-sdk-messaging, which amazon-chime-sdk-js
// imports only for its messaging client (unused here) and whose Node-only
// credential providers do not bundle for the browser.
module.exports = {};
