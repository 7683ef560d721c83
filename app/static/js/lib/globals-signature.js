import SignaturePad from "signature_pad";

window.SignaturePad = SignaturePad;
