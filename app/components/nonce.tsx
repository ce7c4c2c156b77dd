import { createContext, useContext } from "react";

/** The per-request CSP nonce, provided on the server render; empty in the browser (which hides it anyway). */
const NonceContext = createContext("");
export const NonceProvider = NonceContext.Provider;
export const useNonce = () => useContext(NonceContext);
